"""Write a planned demo shop to the database, fast, in one transaction.

Stores, categories, products, custom field definitions and staff go through their services
(a few hundred rows, each audited). Customers and everything with tens of thousands of rows go
in with ``bulk_create``: each customer's profile is cleaned by the same cleaner the services
use (normalised phone and email, blind indexes, typed custom fields), the encrypted fields
encrypt on the way in, and the customers' statistics are computed once at the end by the same
aggregate the services run after every order write.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.commerce.models import Category, Order, OrderLine, Product, Refund, RefundStatus
from rapport.commerce.services import save_category, upsert_product
from rapport.commerce.stats import refresh_customer_stats
from rapport.commerce.validation import CatalogueCache
from rapport.core import pii
from rapport.core.actor import Actor, Source
from rapport.core.fields import EncryptedTextField
from rapport.customers.models import Address, Customer, Identity, Store, keep_search_keys, sealed_identities
from rapport.customers.services import create_store, save_custom_field
from rapport.customers.validation import LookupCache, clean_profile
from rapport.demo.catalogue import CATEGORIES, STORES
from rapport.demo.generator import CUSTOM_FIELDS, SHOP_TIME_ZONE, DemoShopPlan, plan_demo_shop
from rapport.demo.staff import SALES_USERNAME, DemoLogin, create_demo_staff, demo_logins
from rapport.demo.steps import DemoContext, run_demo_steps

BATCH = 1000
CURRENCY = "CNY"  # the demo shop's prices are Chinese yuan


class DatabaseNotEmpty(Exception):
    """The database already holds shop data; seeding would mix the demo shop into it."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        found = ", ".join(f"{n} {what}" for what, n in counts.items())
        super().__init__(f"the database already holds shop data ({found})")


@dataclass
class SeedReport:
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    logins: list[DemoLogin] = field(default_factory=list)


def existing_shop_data() -> dict[str, int]:
    """How many rows of shop data the database holds, by kind; empty when there are none."""
    counts = {
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "products": Product.objects.count(),
        "categories": Category.objects.count(),
        "stores": Store.objects.count(),
    }
    return {what: n for what, n in counts.items() if n}


def empty_database() -> None:
    """Delete every row of every table (Django's ``flush``); roles and permissions come back."""
    call_command("flush", interactive=False, verbosity=0)


def seed_demo_shop(
    *,
    seed: int,
    customers: int = 5000,
    orders: int | None = None,
    end: dt.date | None = None,
    now: dt.datetime | None = None,
    force: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> SeedReport:
    """Plan the demo shop for ``seed`` and write it. Refuses a database with shop data unless ``force``,
    which empties the whole database first.

    ``now`` is the load time (the clock, by default ``timezone.now()``); the window ends the day
    before it unless ``end`` says otherwise, and a window that ends earlier loads as of noon of
    its ``end`` day, so that nothing the demo records lies after the moment it stands for.
    """
    started = time.monotonic()
    clock = now or timezone.now()
    if end is None:
        end = clock.astimezone(SHOP_TIME_ZONE).date()
    clock = min(clock, dt.datetime.combine(end, dt.time(12), tzinfo=SHOP_TIME_ZONE))
    if force:
        say("Emptying the database (--force)…")
        empty_database()
    elif found := existing_shop_data():
        raise DatabaseNotEmpty(found)
    plan = plan_demo_shop(seed=seed, customers=customers, orders=orders, end=end)
    say(f"Planned {len(plan.customers)} customers and {len(plan.orders)} orders ({time.monotonic() - started:.1f} s)")
    with transaction.atomic():
        # Again inside the transaction: two servers starting on one empty database seed once.
        if found := existing_shop_data():
            raise DatabaseNotEmpty(found)
        counts = write_plan(plan, now=clock, say=say)
    return SeedReport(seed=seed, counts=counts, seconds=time.monotonic() - started, logins=demo_logins())


def write_plan(
    plan: DemoShopPlan, *, now: dt.datetime, say: Callable[[str], None] = lambda message: None
) -> dict[str, int]:
    actor = Actor(source=Source.CLI, label="seed_demo")
    stores = {
        spec.code: create_store(
            data={
                "code": spec.code,
                "name": spec.name,
                "city": spec.city,
                "time_zone": spec.time_zone,
                "currency": CURRENCY,
                "is_online": spec.is_online,
            },
            actor=actor,
        )
        for spec in STORES
    }
    for category in CATEGORIES:
        save_category(data={"code": category.code, "name": category.name}, actor=actor)
    cache = CatalogueCache()
    products = [
        upsert_product(
            data={
                "sku": spec.sku,
                "name": spec.name,
                "category": spec.category,
                "price": _money(spec.price_cents),
                "currency": CURRENCY,
                "brand": spec.brand,
                "spu": spec.spu,
                "variant": spec.variant,
                "description": f"{spec.brand} {spec.name}",
            },
            actor=actor,
            cache=cache,
        )[0]
        for spec in plan.products
    ]
    for definition in CUSTOM_FIELDS:
        save_custom_field(data=definition, actor=actor)
    create_demo_staff(stores=stores, actor=actor)
    sales_id = User.objects.filter(username=SALES_USERNAME).values_list("pk", flat=True).first()
    say("Stores, catalogue, custom fields and staff written")

    customers = _write_customers(plan, sales_id=sales_id)
    held = [
        (customer.pk, channel, external_id)
        for customer, person in zip(customers, plan.customers, strict=True)
        for channel, external_id in person.identities
    ]
    identities = Identity.objects.bulk_create(
        (
            Identity(customer_id=customer_id, channel=channel, external_id=stored, external_index=index)
            for customer_id, channel, stored, index in sealed_identities(held)
        ),
        batch_size=BATCH,
    )
    addresses = Address.objects.bulk_create(
        (
            Address(
                customer_id=customer.pk,
                label=a.label,
                recipient=a.recipient,
                phone=a.phone,
                country="CN",
                province=a.province,
                city=a.city,
                district=a.district,
                line1=a.line1,
                line2=a.line2,
                postal_code=a.postal_code,
                is_default=a.is_default,
                place_index=pii.place_index(a.city, a.district, a.line1),  # bulk_create skips save()
            )
            for customer, person in zip(customers, plan.customers, strict=True)
            for a in person.addresses
        ),
        batch_size=BATCH,
    )
    say(f"{len(customers)} customers, {len(identities)} identities and {len(addresses)} addresses written")

    orders, lines, refunds = _write_orders(plan, customers=customers, stores=stores, products=products, now=now)
    say(f"{orders} orders, {lines} order lines and {refunds} refunds written")

    refresh_customer_stats(c.pk for c in customers)
    say("Customer statistics computed")
    counts = {
        "stores": len(stores),
        "categories": len(CATEGORIES),
        "products": len(products),
        "customers": len(customers),
        "identities": len(identities),
        "addresses": len(addresses),
        "orders": orders,
        "order_lines": lines,
        "refunds": refunds,
    }
    counts.update(
        run_demo_steps(DemoContext(rng=random.Random(plan.seed), actor=actor, end=plan.end, say=say, now=now))
    )
    record(
        actor,
        AuditEntry.Action.IMPORT,
        object_type="demo shop",
        object_repr=f"demo shop, seed {plan.seed}",
        changes={"seed": plan.seed, "end": plan.end.isoformat(), **counts},
    )
    return counts


def _write_customers(plan: DemoShopPlan, *, sales_id: int | None) -> list[Customer]:
    cache = LookupCache()
    rows = []
    for person in plan.customers:
        data: dict[str, Any] = {
            "name": person.name,
            "gender": person.gender,
            "birthday": person.birthday,
            "phone": person.phone,
            "email": person.email,
            "id_number": person.id_number,
            "city": person.city,
            "member_status": person.member_status,
            "registered_at": person.registered_at,
            "registration_channel": person.registration_channel,
            "store": person.store,
            "custom_fields": person.custom_fields,
        }
        cleaned = clean_profile(data, cache=cache)
        cleaned["owner_id"] = sales_id if person.owned_by_sales else None
        customer = Customer(**cleaned)
        keep_search_keys(customer)  # bulk_create skips save()
        rows.append(customer)
    return Customer.objects.bulk_create(rows, batch_size=BATCH)


def _write_orders(
    plan: DemoShopPlan,
    *,
    customers: list[Customer],
    stores: dict[str, Store],
    products: list[Product],
    now: dt.datetime,
) -> tuple[int, int, int]:
    """Orders, their lines and refunds: the bulk of the shop, inserted many rows per statement.

    Django's ``bulk_create`` prepares every value of every row through its field (about 1.5
    million values here), which takes most of a minute on SQLite. These tables hold only
    numbers, text, decimals and date-times, so the rows are built in database form and sent
    with :func:`insert_rows`; ids are given up front so that lines can point at their orders,
    and the id sequences are moved past them afterwards.
    """
    order_id = (Order.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    line_id = (OrderLine.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    refund_id = (Refund.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    order_rows, line_rows, refund_rows = [], [], []
    for o in plan.orders:
        order_rows.append(
            (
                order_id,
                customers[o.customer].pk,
                stores[o.store].pk,
                o.channel,
                o.external_id,
                o.status,
                CURRENCY,
                _money(o.subtotal),
                _money(o.discount),
                _money(o.shipping),
                _money(o.total),
                _money(o.refunded),
                o.placed_at,
                now,
                now,
            )
        )
        for index, quantity in o.lines:
            product = products[index]
            line_rows.append(
                (
                    line_id,
                    order_id,
                    product.pk,
                    product.sku,
                    product.name,
                    quantity,
                    product.price,
                    product.price * quantity,
                )
            )
            line_id += 1
        if o.refund is not None:
            r = o.refund
            refund_rows.append(
                (
                    refund_id,
                    order_id,
                    r.external_id,
                    _money(r.amount),
                    r.reason,
                    RefundStatus.COMPLETED,
                    r.refunded_at,
                    now,
                )
            )
            refund_id += 1
        order_id += 1
    insert_rows(
        Order,
        [
            "id",
            "customer_id",
            "store_id",
            "channel",
            "external_id",
            "status",
            "currency",
            "subtotal",
            "discount_total",
            "shipping_total",
            "total",
            "refunded_total",
            "placed_at",
            "created_at",
            "updated_at",
        ],
        order_rows,
    )
    insert_rows(
        OrderLine, ["id", "order_id", "product_id", "sku", "name", "quantity", "unit_price", "line_total"], line_rows
    )
    insert_rows(
        Refund,
        ["id", "order_id", "external_id", "amount", "reason", "status", "refunded_at", "created_at"],
        refund_rows,
    )
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Order, OrderLine, Refund]):
            cursor.execute(statement)
    return len(order_rows), len(line_rows), len(refund_rows)


def insert_rows(model: type[models.Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert plain rows (numbers, text, decimals, date-times): COPY on PostgreSQL, else ``executemany``.

    Only date-times need adapting for the database; columns that a field must transform on
    the way in (encrypted text, JSON) are refused rather than written wrongly.
    """
    by_column = {f.column: f for f in model._meta.concrete_fields}
    fields = [by_column[column] for column in columns]
    for f in fields:
        if isinstance(f, (EncryptedTextField, models.JSONField)):
            raise ValueError(f"{model.__name__}.{f.name} needs its field to prepare values: use bulk_create")
    dates = {i for i, f in enumerate(fields) if isinstance(f, models.DateTimeField)}
    if dates:
        adapt = connection.ops.adapt_datetimefield_value
        rows = [tuple(adapt(v) if i in dates else v for i, v in enumerate(row)) for row in rows]
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # Table and column names come from the model, quoted; values are parameters.
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)
