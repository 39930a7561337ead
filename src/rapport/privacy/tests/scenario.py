"""A customer with something in every domain, for the export and erasure tests."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, models
from django.db.models import Count, Sum
from django.test import Client

from rapport.commerce import services as commerce_services
from rapport.commerce.models import CustomerStats, Order
from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.customers.models import Customer
from rapport.events import resolver
from rapport.events.models import Event
from rapport.events.services import create_source
from rapport.loyalty.models import Account
from rapport.loyalty.services import points, stored_value
from rapport.service import services as service_services

NAME = "Ouyang Xiaoqing"
PHONE = "13912345678"
EMAIL = "xiaoqing.ouyang@example.com"
ID_NUMBER = "110101199003074512"
STREET = "Lane 99 Wukang Road"
USER_ID = "shop-user-4711"


@dataclass
class Scenario:
    customer: Customer
    source: Any


def tracking_client(source: Any) -> Any:
    auth = "Basic " + base64.b64encode(f"{source.write_key}:".encode()).decode()

    def send(*batch: dict[str, Any]) -> None:
        response = Client().post(
            "/v1/batch", json.dumps({"batch": list(batch)}), content_type="application/json", HTTP_AUTHORIZATION=auth
        )
        assert response.status_code == 200, response.content
        resolver.resolve_pending()

    return send


def build(actor: Actor) -> Scenario:
    source = create_source(data={"name": "Web shop", "identity_channel": "web"}, actor=actor)
    send = tracking_client(source)
    send(
        {
            "type": "identify",
            "messageId": "id-1",
            "userId": USER_ID,
            "anonymousId": "device-1",
            "traits": {"name": NAME, "email": EMAIL, "phone": PHONE},
            "context": {"ip": "203.0.113.9", "userAgent": "Mozilla/5.0 test"},
        },
        {
            "type": "track",
            "messageId": "tr-1",
            "userId": USER_ID,
            "event": "Checkout Started",
            "properties": {"email": EMAIL, "phone": PHONE},
        },
    )
    customer = Customer.objects.get(phone_index__isnull=False)
    customer = customer_services.update_customer(
        customer,
        data={"id_number": ID_NUMBER, "city": "Shanghai", "gender": "female", "birthday": "1990-03-07"},
        actor=actor,
    )
    customer_services.add_address(
        customer, data={"recipient": NAME, "phone": PHONE, "city": "Shanghai", "line1": STREET}, actor=actor
    )
    customer_services.add_note(customer, body=f"Called {NAME} on {PHONE}", actor=actor)
    commerce_services.save_category(data={"code": "tea", "name": "Tea"}, actor=actor)
    commerce_services.upsert_product(
        data={"sku": "TEA-1", "name": "Longjing 250g", "price": "128.00", "category": "tea"}, actor=actor
    )
    commerce_services.upsert_order(
        data={
            "channel": "web",
            "external_id": "o-1",
            "customer_external_id": USER_ID,
            "placed_at": "2025-06-18T10:00:00+08:00",
            "lines": [{"sku": "TEA-1", "quantity": 2}],
        },
        actor=actor,
    )
    points.award(customer, points=300, key="gift-1", actor=actor, reason="welcome")
    stored_value.top_up(customer, amount="200.00", key="top-1", actor=actor)
    service_services.open_ticket(
        customer=customer,
        channel="email",
        subject=f"Parcel for {NAME}",
        body=f"Please call me on {PHONE} or write to {EMAIL}; I live at {STREET}.",
        actor=actor,
        reply_to=EMAIL,
    )
    return Scenario(customer=Customer.objects.get(pk=customer.pk), source=source)


def figures() -> dict[str, Any]:
    """The money and count figures an erasure must not move."""
    orders = Order.objects.aggregate(n=Count("id"), total=Sum("total"), refunded=Sum("refunded_total"))
    stats = CustomerStats.objects.aggregate(spent=Sum("net_spent"), orders=Sum("order_count"))
    balances = {row["asset"]: row["total"] for row in Account.objects.values("asset").annotate(total=Sum("balance"))}
    return {
        "customers": Customer.objects.count(),
        "orders": orders,
        "stats": stats,
        "balances": balances,
        "events": Event.objects.count(),
        "events_by_name": dict(Event.objects.values_list("name").annotate(n=Count("id"))),
    }


def find_plaintext(*needles: str) -> list[str]:
    """Every (table.column) whose text, JSON or bytes hold one of ``needles``: a raw scan."""
    hits = []
    quote = connection.ops.quote_name
    kinds = (models.CharField, models.TextField, models.JSONField, models.BinaryField)
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            for field in model._meta.concrete_fields:
                if not isinstance(field, kinds):
                    continue
                column = quote(field.column)
                cast = f"CAST({column} AS TEXT)" if not isinstance(field, models.BinaryField) else column
                if connection.vendor == "postgresql" and isinstance(field, models.BinaryField):
                    cast = f"encode({column}, 'escape')"
                for needle in needles:
                    cursor.execute(f"SELECT COUNT(*) FROM {quote(table)} WHERE {cast} LIKE %s", [f"%{needle}%"])
                    if cursor.fetchone()[0]:
                        hits.append(f"{table}.{field.column} ∋ {needle}")
    return hits


def fulfil_now(request: Any, actor: Actor) -> Any:
    """Fulfil a request and run the job it starts (the erasure, or the copy) as a worker does after the commit."""
    from django.test import TestCase

    from rapport.privacy import services
    from rapport.privacy.models import DataSubjectRequest

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.fulfil_request(request, actor=actor)
    return DataSubjectRequest.objects.get(pk=request.pk)
