"""Marketplace presets: each platform's own export, as it names its columns, imported end to end."""

import pytest

from rapport.commerce.models import Order
from rapport.core.actor import Actor
from rapport.customers.models import Customer, Identity
from rapport.customers.services import identity_indexes
from rapport.imports import presets, services
from rapport.imports.readers import UnusableFile

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")


def run(testdata, name, kind, preset, channel):
    return services.import_file(
        testdata / "presets" / name, kind=kind, actor=ACTOR, preset=preset, channel=channel, batch_size=2
    )


def errors_of(result):
    return {(e.line, e.field, e.code) for e in result.first_errors}


def test_shopify_customers_then_orders(testdata, catalogue):
    customers = run(testdata, "shopify_customers.csv", "customers", "shopify", "shopify")
    assert (customers.created, errors_of(customers)) == (2, {(4, "external_id", "required")})
    lin = Customer.objects.get(
        identities__channel="shopify", identities__external_index__in=identity_indexes("lin.chen@example.com")
    )
    assert (lin.name, lin.email, lin.phone, lin.city) == ("Lin", "lin.chen@example.com", "+8613800001111", "Shanghai")

    orders = run(testdata, "shopify_orders.csv", "orders", "shopify", "shopify")
    assert orders.created == 2
    assert errors_of(orders) == {(5, "customer_external_id", "not_found")}
    first = Order.objects.get(channel="shopify", external_id="#1001")
    assert (first.customer_id, first.status, first.total, first.shipping_total) == (lin.pk, "paid", 256, 10)
    assert [(line.sku, line.quantity) for line in first.lines.order_by("id")] == [("TEA-1", 1), ("TEA-2", 2)]
    assert first.placed_at.isoformat() == "2024-03-01T02:02:11+00:00"
    assert Order.objects.get(external_id="#1002").status == "refunded"
    # the same files again change nothing
    again = run(testdata, "shopify_orders.csv", "orders", "shopify", "shopify")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_woocommerce_customers_then_orders(testdata):
    customers = run(testdata, "woocommerce_customers.csv", "customers", "woocommerce", "woo")
    assert (customers.created, customers.rejected) == (2, 0)
    orders = run(testdata, "woocommerce_orders.csv", "orders", "woocommerce", "woo")
    assert orders.created == 2 and errors_of(orders) == {(5, "unit_price", "invalid")}
    order = Order.objects.get(channel="woo", external_id="5001")
    assert (order.status, order.total, order.discount_total, order.lines.count()) == ("completed", 185, 10, 2)
    assert order.customer.name == "Zhang Wei"
    assert Order.objects.get(external_id="5002").status == "paid"


def test_youzan_customers_then_orders(testdata):
    customers = run(testdata, "youzan_customers.csv", "customers", "youzan", "youzan")
    assert (customers.created, errors_of(customers)) == (2, {(4, "external_id", "required")})
    wang = Customer.objects.get(name="王芳")
    assert (wang.phone, wang.gender, str(wang.birthday), wang.city) == (
        "+8613812345678",
        "female",
        "1990-05-20",
        "杭州",
    )
    orders = run(testdata, "youzan_orders.csv", "orders", "youzan", "youzan")
    assert (orders.created, orders.rejected) == (2, 0)
    order = Order.objects.get(external_id="E20240301100000001")
    assert (order.customer_id, order.status, order.total, order.lines.count()) == (wang.pk, "completed", 187, 2)
    assert Order.objects.get(external_id="E20240402100000002").status == "paid"


@pytest.mark.parametrize(
    ("preset", "name", "buyers", "orders", "status"),
    [
        ("taobao", "taobao_orders.csv", {"t**1", "小**2"}, 3, {"completed", "shipped", "cancelled"}),
        ("jd", "jd_orders.csv", {"jd_buyer01", "jd_buyer02"}, 2, {"completed", "paid"}),
    ],
)
def test_marketplace_order_reports_keep_masked_buyers_as_identities_only(
    testdata, preset, name, buyers, orders, status
):
    customers = run(testdata, name, "customers", preset, preset)
    assert customers.created == 2
    assert {e.code for e in customers.first_errors} <= {"duplicate_key"}  # a buyer's later orders
    assert set(Identity.objects.filter(channel=preset).values_list("external_id", flat=True)) == buyers
    # masked phones and receivers' names are never stored as a customer's phone or name
    assert not Customer.objects.exclude(phone="").exists()
    assert not Customer.objects.filter(name__in=["张**", "李**"]).exists()
    result = run(testdata, name, "orders", preset, preset)
    assert (result.created, result.rejected) == (orders, 0)
    assert set(Order.objects.values_list("status", flat=True)) == status
    assert not Order.objects.filter(customer__isnull=True).exists()


def test_a_preset_is_checked_against_the_kind(testdata):
    with pytest.raises(UnusableFile, match="unknown preset 'ebay'"):
        run(testdata, "jd_orders.csv", "orders", "ebay", "jd")
    with pytest.raises(UnusableFile, match="not refunds"):
        run(testdata, "jd_orders.csv", "refunds", "jd", "jd")
    assert {name for name, _label in presets.choices()} == {"taobao", "jd", "youzan", "shopify", "woocommerce"}


def test_the_api_and_the_command_line_choose_a_preset_by_name(
    admin_api, testdata, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    body = (testdata / "presets" / "youzan_customers.csv").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(
            "/api/v1/imports",
            {"kind": "customers", "channel": "youzan", "preset": "youzan", "file": SimpleUploadedFile("c.csv", body)},
        )
    assert response.status_code == 202, response.content
    status = admin_api.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert (status["status"], status["created"], status["error_rows"]) == ("succeeded", 2, 1)
    call_command(
        "import",
        "orders",
        str(testdata / "presets" / "youzan_orders.csv"),
        "--preset",
        "youzan",
        "--channel",
        "youzan",
        "--no-progress",
    )
    assert Order.objects.filter(channel="youzan").count() == 2
