"""The demo shop's consent: most members opted in to some marketing at sign-up, a few withdrew since."""

from __future__ import annotations

import datetime as dt

from rapport.core.actor import Source
from rapport.customers.models import Consent, ConsentRecord, Customer
from rapport.demo.steps import DemoContext

# channel -> share of customers who said yes to marketing on it when they registered
OPT_IN_RATES = {"email": 0.62, "sms": 0.55, "wechat": 0.48, "push": 0.30, "site": 0.80}
WITHDRAWAL_RATE = 0.06


def seed_consents(context: DemoContext) -> dict[str, int]:
    rng = context.rng
    end = context.now
    consents: list[Consent] = []
    records: list[ConsentRecord] = []
    for customer_id, registered_at in Customer.objects.values_list("pk", "registered_at").iterator():
        for channel, rate in OPT_IN_RATES.items():
            if rng.random() >= rate:
                continue
            records.append(_record(customer_id, channel, True, registered_at, "sign-up form"))
            granted, updated_at = True, registered_at
            if rng.random() < WITHDRAWAL_RATE:
                updated_at = registered_at + (end - registered_at) * rng.random()
                granted = False
                records.append(_record(customer_id, channel, False, updated_at, "unsubscribe link"))
            consents.append(
                Consent(
                    customer_id=customer_id,
                    channel=channel,
                    purpose="marketing",
                    granted=granted,
                    source=Source.IMPORT,
                    updated_at=updated_at,
                )
            )
    Consent.objects.bulk_create(consents, batch_size=2000)
    ConsentRecord.objects.bulk_create(records, batch_size=2000)
    context.say(f"{len(consents)} consent decisions written")
    return {"consents": len(consents)}


def _record(customer_id: int, channel: str, granted: bool, when: dt.datetime, evidence: str) -> ConsentRecord:
    return ConsentRecord(
        customer_id=customer_id,
        channel=channel,
        purpose="marketing",
        granted=granted,
        source=Source.IMPORT,
        actor_label="demo shop",
        evidence=evidence,
        recorded_at=when,
    )
