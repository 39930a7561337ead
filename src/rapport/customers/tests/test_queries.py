"""``visible_customer``: the one way a front door turns a customer reference into a customer."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.core.errors import NotFound
from rapport.customers import queries, services
from rapport.customers.merge import merge_customers

pytestmark = pytest.mark.django_db


def test_by_id_by_merged_id_and_by_channel_reference(make_customer, admin_user, system_actor):
    kept, gone = make_customer(name="Kept"), make_customer(name="Gone")
    services.add_identity(kept, channel="shopify", external_id="A-1", actor=system_actor)
    merge_customers(kept, gone, actor=system_actor, reason="same person")
    assert queries.visible_customer(admin_user, kept.pk) == kept
    assert queries.visible_customer(admin_user, str(kept.pk)) == kept
    assert queries.visible_customer(admin_user, gone.pk) == kept
    assert queries.visible_customer(admin_user, "shopify:A-1") == kept
    with pytest.raises(NotFound) as missing:
        queries.visible_customer(admin_user, "shopify:nobody")
    assert missing.value.errors[0].field == "customer"


def test_a_customer_outside_the_callers_scope_is_not_found(make_customer, make_staff, system_actor):
    elsewhere = make_customer(name="Elsewhere")  # owned by nobody, so no sales rep sees it
    services.add_identity(elsewhere, channel="pos", external_id="P-9", actor=system_actor)
    seller = make_staff(roles.SALES)
    for ref in (elsewhere.pk, "pos:P-9"):
        with pytest.raises(NotFound):
            queries.visible_customer(seller, ref)
