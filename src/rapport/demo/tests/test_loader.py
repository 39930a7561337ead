"""Writing the demo shop: the domain's rules hold for data that skipped the per-row services."""

from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, Sum
from django.test import Client

from rapport.accounts import roles
from rapport.accounts.models import StaffProfile
from rapport.accounts.services import customer_scope, role_of
from rapport.audit.models import AuditEntry
from rapport.commerce import services as commerce_services
from rapport.commerce.models import COUNTED_STATUSES, Category, CustomerStats, Order, OrderLine, Product, Refund
from rapport.commerce.stats import CENT, stats_match_orders
from rapport.core import pii
from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.customers.models import Address, Customer, CustomFieldDefinition, Identity, Store
from rapport.demo.generator import plan_demo_shop
from rapport.demo.staff import DEMO_PASSWORD, DEMO_STAFF

from .conftest import END, SMALL


def test_the_database_holds_what_was_planned(small_shop):
    plan = plan_demo_shop(seed=7, customers=SMALL, end=END)
    # later domains' demo steps add their own counts (consents, points, tickets…) beside these
    assert (
        small_shop.counts.items()
        >= {
            "stores": 5,
            "categories": 15,
            "products": 200,
            "customers": SMALL,
            "identities": sum(len(c.identities) for c in plan.customers),
            "addresses": sum(len(c.addresses) for c in plan.customers),
            "orders": len(plan.orders),
            "order_lines": sum(len(o.lines) for o in plan.orders),
            "refunds": sum(1 for o in plan.orders if o.refund),
        }.items()
    )
    assert small_shop.counts["consents"] > 0
    assert (Store.objects.count(), Category.objects.count(), Product.objects.count()) == (5, 15, 200)
    assert Customer.objects.count() == SMALL
    assert Order.objects.count() == len(plan.orders)
    assert OrderLine.objects.count() == small_shop.counts["order_lines"]
    assert Refund.objects.count() == small_shop.counts["refunds"]
    assert Identity.objects.count() == small_shop.counts["identities"]
    assert Address.objects.count() == small_shop.counts["addresses"]
    first = Customer.objects.order_by("pk").first()
    assert (first.name, first.phone, first.email) == (
        plan.customers[0].name,
        plan.customers[0].phone,
        plan.customers[0].email,
    )
    assert set(Store.objects.values_list("time_zone", flat=True)) == {"Asia/Shanghai"}


def _stats_agree(customer_id):
    """``stats_match_orders`` with the fresh sums rounded to cents: SQLite sums decimals as floats
    (65158.28 comes back as 65158.2800000001 for a customer with 147 orders)."""
    if stats_match_orders(customer_id):
        return True
    kept = CustomerStats.objects.get(customer_id=customer_id)
    fresh = Order.objects.filter(customer_id=customer_id, status__in=COUNTED_STATUSES).aggregate(
        n=Count("id"), spent=Sum("total"), refunded=Sum("refunded_total")
    )
    return (kept.order_count, kept.total_spent, kept.total_refunded) == (
        fresh["n"],
        Decimal(fresh["spent"] or 0).quantize(CENT),
        Decimal(fresh["refunded"] or 0).quantize(CENT),
    )


def test_customer_statistics_match_the_orders(small_shop):
    ids = list(Customer.objects.values_list("pk", flat=True))
    assert CustomerStats.objects.count() == len(ids)
    assert all(_stats_agree(pk) for pk in ids)
    assert CustomerStats.objects.filter(order_count__gt=0).count() > 0.6 * len(ids)
    refunded = CustomerStats.objects.filter(refund_count__gt=0)
    assert refunded.exists() and all(s.total_refunded > 0 for s in refunded)


def test_no_personal_data_is_stored_in_plaintext(small_shop):
    customer = Customer.objects.exclude(phone="").order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, email, phone_index FROM customers_customer")
        rows = cursor.fetchall()
        cursor.execute("SELECT phone, line1, line2 FROM customers_address")
        address_rows = cursor.fetchall()
    national = customer.phone.removeprefix("+86")
    assert not any(national in (phone or "") or "@" in (email or "") for phone, email, _index in rows)
    assert not any("号" in (line1 or "") or "室" in (line2 or "") for _phone, line1, line2 in address_rows)
    assert customer.phone_index == pii.phone_index(customer.phone)
    assert list(customer_services.search(Customer.objects.all(), national)) == [customer]


def test_custom_fields_are_defined_and_their_values_are_valid(small_shop):
    definitions = {d.key: d for d in CustomFieldDefinition.objects.all()}
    assert {"member_since", "favourite_category", "preferred_contact", "marketing_opt_in"} <= set(definitions)
    with_values = Customer.objects.exclude(custom_fields={})
    assert with_values.count() > 0.8 * SMALL
    for customer in with_values:
        for key, value in customer.custom_fields.items():
            definition = definitions[key]
            if definition.field_type == "choice":
                assert value in definition.choices


def test_staff_exist_for_every_role_and_can_sign_in(small_shop):
    assert {s.role for s in DEMO_STAFF} == set(roles.ROLE_PERMISSIONS)
    assert [login.username for login in small_shop.logins] == [s.username for s in DEMO_STAFF]
    for staff in DEMO_STAFF:
        user = User.objects.get(username=staff.username)
        assert role_of(user) == staff.role
        assert Client().login(username=staff.username, password=DEMO_PASSWORD)


def test_sales_staff_own_the_best_customers_and_store_staff_belong_to_a_store(small_shop):
    sales = User.objects.get(username="sales")
    owned = Customer.objects.filter(customer_scope(sales))
    assert 0 < owned.count() < SMALL
    average = sum(c.stats.net_spent for c in Customer.objects.select_related("stats")) / SMALL
    assert all(c.stats.net_spent > average for c in owned.select_related("stats"))
    clerk = User.objects.get(username="store")
    assert StaffProfile.objects.get(user=clerk).store.code == "sh-flagship"
    in_store = Customer.objects.filter(customer_scope(clerk))
    assert in_store.exists() and not in_store.exclude(store__code="sh-flagship").exists()


def test_the_services_keep_working_on_the_demo_data(small_shop):
    order = Order.objects.filter(status="completed", refunded_total=0).order_by("pk").first()
    actor = Actor.system("test")
    commerce_services.record_refund(order, external_id="test-refund", amount="1.00", actor=actor)
    assert _stats_agree(order.customer_id)
    created, _ = commerce_services.upsert_order(
        data={
            "channel": order.channel,
            "external_id": "after-the-demo",
            "customer_id": order.customer_id,
            "placed_at": "2026-06-30T12:00:00+08:00",
            "lines": [{"sku": "SKI-0001", "quantity": 1}],
        },
        actor=actor,
    )
    assert created.pk > Order.objects.exclude(pk=created.pk).order_by("-pk").first().pk
    assert _stats_agree(order.customer_id)


def test_seeding_is_recorded_in_the_audit_log(small_shop):
    entry = AuditEntry.objects.get(object_type="demo shop")
    assert entry.changes["seed"] == 7 and entry.changes["customers"] == SMALL
