"""Writing the demo shop into a database that is not empty: refused, or replaced when forced. Kept
apart from ``test_loader``, whose tests share one loaded shop for the module."""

import pytest
from django.test import Client

from rapport.customers.models import Customer
from rapport.demo.loader import DatabaseNotEmpty, seed_demo_shop
from rapport.demo.staff import DEMO_PASSWORD

from .conftest import END, SMALL
from .test_loader import _stats_agree


def test_a_database_with_shop_data_is_refused(db, store):
    with pytest.raises(DatabaseNotEmpty, match="1 stores"):
        seed_demo_shop(seed=7, customers=20, end=END)
    assert not Customer.objects.exists()


@pytest.mark.django_db(transaction=True)  # like the command: the emptying is not inside a test's transaction
def test_force_replaces_everything_with_the_same_shop(make_customer):
    first_report = seed_demo_shop(seed=7, customers=SMALL, end=END)
    first = Customer.objects.order_by("pk").values_list("name", "registered_at").first()
    make_customer(name="Someone real")
    report = seed_demo_shop(seed=7, customers=SMALL, end=END, force=True)
    assert report.counts == first_report.counts
    assert not Customer.objects.filter(name="Someone real").exists()
    assert Customer.objects.order_by("pk").values_list("name", "registered_at").first() == first
    assert all(_stats_agree(pk) for pk in Customer.objects.values_list("pk", flat=True)[:50])
    assert Client().login(username="sales", password=DEMO_PASSWORD)
