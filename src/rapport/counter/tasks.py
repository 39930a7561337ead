"""Background work of the counter: member codes long past their expiry are deleted daily."""

from __future__ import annotations

from celery import shared_task

from rapport.counter import codes


@shared_task(name="rapport.counter.forget_expired_codes")
def forget_expired_codes() -> int:
    return codes.forget_expired()
