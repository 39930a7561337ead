"""Background work of the counter: member codes long past their expiry are deleted daily."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from rapport.core.jobs import tracked_task
from rapport.counter import codes


@tracked_task(name="rapport.counter.forget_expired_codes", label=_("Expired member codes clean-up"))
def forget_expired_codes() -> int:
    return codes.forget_expired()
