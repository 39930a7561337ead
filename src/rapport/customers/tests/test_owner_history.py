"""Owner changes are recorded readable, and ``owners_at`` answers who owned many customers at a time
from them: before the first change, between changes, after the last, and for customers never changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core import shredding
from rapport.customers import queries, services
from rapport.customers.models import ChangeRecord, Customer

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def _assign(customer: Customer, owner: Any, at: dt.datetime, actor: Any) -> None:
    services.assign_owner(Customer.objects.filter(pk=customer.pk), owner=owner, actor=actor)
    ChangeRecord.objects.filter(customer=customer, field="owner", created_at__gt=at).update(created_at=at)


def test_an_owner_change_is_recorded_readable_not_sealed(make_customer, make_staff, system_actor) -> None:
    seller = make_staff("sales")
    customer = make_customer()
    services.assign_owner(Customer.objects.filter(pk=customer.pk), owner=seller, actor=system_actor)
    row = ChangeRecord.objects.filter(field="owner").values("owner_before_id", "owner_after_id", "new_value").get()
    assert row == {"owner_before_id": None, "owner_after_id": seller.pk, "new_value": ""}


def test_owners_at_reads_the_owner_of_each_moment_in_one_query(make_customer, make_staff, system_actor) -> None:
    amy, bob = make_staff("sales", username="amy"), make_staff("sales", username="bob")
    moved = make_customer()
    moved.owner = amy
    moved.save(update_fields=["owner"])
    _assign(moved, bob, T0 + dt.timedelta(days=10), system_actor)
    _assign(moved, None, T0 + dt.timedelta(days=20), system_actor)
    steady = make_customer()
    steady.owner = amy
    steady.save(update_fields=["owner"])
    ids = [moved.pk, steady.pk]
    with CaptureQueriesContext(connection) as queries_run:
        before = queries.owners_at(ids, T0)
    assert len(queries_run) == 1
    assert before == {moved.pk: amy.pk, steady.pk: amy.pk}
    assert queries.owners_at(ids, T0 + dt.timedelta(days=10)) == {moved.pk: bob.pk, steady.pk: amy.pk}
    assert queries.owners_at(ids, T0 + dt.timedelta(days=15)) == {moved.pk: bob.pk, steady.pk: amy.pk}
    assert queries.owners_at(ids, T0 + dt.timedelta(days=25)) == {moved.pk: None, steady.pk: amy.pk}


def test_owner_changes_stay_readable_after_the_customer_is_erased(make_customer, make_staff, system_actor) -> None:
    seller = make_staff("sales")
    customer = make_customer()
    _assign(customer, seller, T0, system_actor)
    shredding.shred([customer.pk])
    assert queries.owners_at([customer.pk], T0 + dt.timedelta(days=1)) == {customer.pk: seller.pk}


def test_the_history_shows_owner_changes_by_id_in_the_api_and_by_name_on_the_tab(
    make_customer, make_staff, system_actor, admin_api, admin_client
) -> None:
    seller = make_staff("sales", username="amy")
    customer = make_customer()
    services.assign_owner(Customer.objects.filter(pk=customer.pk), owner=seller, actor=system_actor)
    changes = admin_api.get(f"/api/v1/customers/{customer.pk}/history").json()["results"]
    assert [(c["field"], c["old_value"], c["new_value"]) for c in changes] == [("owner", "", str(seller.pk))]
    tab = admin_client.get(f"/customers/{customer.pk}/?tab=history").content.decode()
    assert "amy" in tab
