"""Tag sync (标签同步): an outbox of tag changes and the adapters that deliver them.

Every add/remove writes, in the same transaction, one :class:`SyncDelivery` per interested
endpoint. :func:`deliver_due` sends what is due through the endpoint's adapter, retries with
exponential back-off and, after ``max_attempts`` failures, moves a delivery to the dead-letter
list, where staff can retry it. Delivery is at least once: receivers de-duplicate on ``id`` and
order by ``sequence`` (see ``docs/tag-sync.md``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rapport.core.jobs import enqueue
from rapport.customers.models import Identity
from rapport.tags.models import SyncDelivery, SyncEndpoint, Tag, TagHistory

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=6)
LEASE = dt.timedelta(minutes=5)
TIMEOUT_SECONDS = 10.0
SIGNATURE_TOLERANCE_SECONDS = 300
OUTBOX_CHUNK = 2000


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


class TagSyncAdapter(Protocol):
    """How one kind of third-party system receives tag changes.

    ``send`` gets the endpoint and the exact bytes of one JSON event; it must not raise for
    delivery failures but answer ``DeliveryResult(ok=False, …)``: the outbox retries those.
    """

    name: str

    def send(self, endpoint: SyncEndpoint, body: bytes, *, attempt: int) -> DeliveryResult: ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``HMAC-SHA256(secret, f"{timestamp}.{body}")`` as hex: the ``X-Rapport-Signature`` header."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (no replays)."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= SIGNATURE_TOLERANCE_SECONDS and hmac.compare_digest(sign(secret, timestamp, body), signature)


class SignedWebhookAdapter:
    """POSTs the JSON event with ``X-Rapport-Timestamp`` and ``X-Rapport-Signature`` headers."""

    name = "webhook"

    def send(self, endpoint: SyncEndpoint, body: bytes, *, attempt: int) -> DeliveryResult:
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - the URL is an http(s) URLField set by staff
            endpoint.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Rapport-TagSync/1",
                "X-Rapport-Timestamp": timestamp,
                "X-Rapport-Signature": sign(endpoint.secret, timestamp, body),
                "X-Rapport-Attempt": str(attempt),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return DeliveryResult(ok=200 <= response.status < 300, status_code=response.status)
        except urllib.error.HTTPError as exc:
            return DeliveryResult(ok=False, status_code=exc.code, error=f"HTTP {exc.code} {exc.reason}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return DeliveryResult(ok=False, error=str(getattr(exc, "reason", exc)))


_ADAPTERS: dict[str, TagSyncAdapter] = {}


def register_adapter(adapter: TagSyncAdapter) -> None:
    _ADAPTERS[adapter.name] = adapter


def adapters() -> dict[str, TagSyncAdapter]:
    return dict(_ADAPTERS)


register_adapter(SignedWebhookAdapter())


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failures: 30 s, 1 min, 2 min, … up to 6 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


# Writing the outbox --------------------------------------------------------------------------


def endpoints_for(tag: Tag) -> list[SyncEndpoint]:
    return list(SyncEndpoint.objects.filter(is_active=True).filter(Q(tags__isnull=True) | Q(tags=tag)).distinct())


def tag_body(tag: Tag) -> dict[str, Any]:
    return {"id": tag.pk, "category": tag.category.name, "name": tag.name, "type": tag.type}


def write_outbox(tag: Tag, entries: Sequence[TagHistory], endpoints: Sequence[SyncEndpoint]) -> int:
    """One pending delivery per history entry per endpoint (called inside the change's transaction)."""
    if not entries or not endpoints:
        return 0
    described = tag_body(tag)
    now = timezone.now()
    written = 0
    for start in range(0, len(entries), OUTBOX_CHUNK):
        rows = [
            SyncDelivery(
                endpoint=endpoint,
                payload={
                    "type": f"tag.{entry.action}",
                    "sequence": entry.pk,
                    "occurred_at": entry.at.isoformat(),
                    "customer_id": entry.customer_id,
                    "tag": described,
                    "source": entry.source,
                    "actor": entry.actor_label,
                },
                next_attempt_at=now,
                created_at=now,
            )
            for entry in entries[start : start + OUTBOX_CHUNK]
            for endpoint in endpoints
        ]
        SyncDelivery.objects.bulk_create(rows, batch_size=500)
        written += len(rows)
    return written


def schedule_delivery() -> None:
    """Send the new deliveries soon after the current transaction commits."""
    from rapport.tags.tasks import deliver_tag_sync

    enqueue(deliver_tag_sync)


# Delivering ------------------------------------------------------------------------------------


def _claim(now: dt.datetime, limit: int, endpoint_id: int | None) -> list[SyncDelivery]:
    """Take due deliveries for a while (a lease), so two workers never send the same one at once."""
    with transaction.atomic():
        due = SyncDelivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            status=SyncDelivery.Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        )
        if endpoint_id is not None:
            due = due.filter(endpoint_id=endpoint_id)
        claimed = list(due.select_related("endpoint").order_by("next_attempt_at", "id")[:limit])
        SyncDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(next_attempt_at=now + LEASE)
    return claimed


def _identities(customer_ids: Iterable[int]) -> dict[int, list[dict[str, str]]]:
    found: dict[int, list[dict[str, str]]] = defaultdict(list)
    for row in (
        Identity.objects.filter(customer_id__in=set(customer_ids))
        .order_by("pk")
        .values("customer_id", "channel", "external_id")
    ):
        found[row["customer_id"]].append({"channel": row["channel"], "external_id": row["external_id"]})
    return found


def render_body(delivery: SyncDelivery, identities: list[dict[str, str]]) -> bytes:
    payload = dict(delivery.payload)
    customer = {"id": payload.pop("customer_id"), "identities": identities}
    event = {"id": str(delivery.event_id), **payload, "customer": customer}
    return json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _record(delivery: SyncDelivery, result: DeliveryResult, now: dt.datetime) -> str:
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    if result.ok:
        delivery.status = SyncDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = ""
    else:
        delivery.last_error = (result.error or "failed")[:500]
        if delivery.attempts >= delivery.endpoint.max_attempts:
            delivery.status = SyncDelivery.Status.DEAD
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(
        update_fields=["attempts", "last_status_code", "status", "delivered_at", "last_error", "next_attempt_at"]
    )
    return delivery.status


def deliver_due(*, now: dt.datetime | None = None, limit: int = 200, endpoint_id: int | None = None) -> dict[str, int]:
    """Send every due delivery once; answer how many were delivered, will be retried, went dead."""
    now = now or timezone.now()
    claimed = _claim(now, limit, endpoint_id)
    identities = _identities(d.payload.get("customer_id") for d in claimed)
    counts = {"delivered": 0, "retrying": 0, "dead": 0}
    for delivery in claimed:
        adapter = _ADAPTERS.get(delivery.endpoint.adapter)
        if adapter is None:
            result = DeliveryResult(ok=False, error=f"no adapter {delivery.endpoint.adapter!r}")
        else:
            body = render_body(delivery, identities.get(delivery.payload.get("customer_id"), []))
            result = adapter.send(delivery.endpoint, body, attempt=delivery.attempts + 1)
        status = _record(delivery, result, timezone.now())
        counts[{"delivered": "delivered", "dead": "dead"}.get(status, "retrying")] += 1
    return counts
