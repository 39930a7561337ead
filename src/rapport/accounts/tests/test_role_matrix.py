"""Each role × list/read/update a customer: allowed, 403 or 404, and never a leak."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.customers.models import Customer

pytestmark = pytest.mark.django_db

ALL = {"mine", "theirs"}
# role: (visible in list, readable, updatable)
MATRIX = {
    roles.ADMIN: (ALL, ALL, ALL),
    roles.OPERATOR: (ALL, ALL, ALL),
    roles.SERVICE_AGENT: (ALL, ALL, ALL),
    roles.ANALYST: (ALL, ALL, set()),
    roles.SALES: ({"mine"}, {"mine"}, {"mine"}),
    roles.STORE_STAFF: ({"mine"}, {"mine"}, {"mine"}),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_role_matrix(role, make_staff, make_customer, api_client_for, store, other_store, system_actor):
    from rapport.customers.services import assign_owner

    user = make_staff(role, store=store if role == roles.STORE_STAFF else None)
    mine = make_customer(name="Mine", phone="13911110000", store="sh-01")
    theirs = make_customer(name="Theirs", phone="13922220000", store="bj-01")
    if role == roles.SALES:
        assign_owner(Customer.objects.filter(pk=mine.pk), owner=user, actor=system_actor)
    customers = {"mine": mine, "theirs": theirs}
    listable, readable, updatable = MATRIX[role]
    api = api_client_for(user)

    listed = api.get("/api/v1/customers")
    assert listed.status_code == 200
    assert {c["name"] for c in listed.json()["results"]} == {customers[k].name for k in listable}
    assert "13911110000" not in listed.content.decode() and "13922220000" not in listed.content.decode()

    for key, customer in customers.items():
        read = api.get(f"/api/v1/customers/{customer.pk}")
        assert read.status_code == (200 if key in readable else 404), (role, key)
        if key not in readable:
            assert customer.name not in read.content.decode()
        update = api.patch(f"/api/v1/customers/{customer.pk}", {"city": "苏州"}, content_type="application/json")
        expected = 200 if key in updatable else (404 if key not in readable else 403)
        assert update.status_code == expected, (role, key, update.content)
        assert (Customer.objects.get(pk=customer.pk).city == "苏州") == (key in updatable)
