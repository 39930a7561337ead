"""Channel identities whose id is personal data (a buyer's phone or email as a shop knows them, a
wechat openid, a web user id) are stored sealed with a blind index: every look-up still finds
them (the shop API, search, the counter's card look-up), the table holds no plaintext, and the
plaintext scan would catch one written as given again."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from rapport.core import shredding
from rapport.core.actor import Actor
from rapport.counter import services as counter
from rapport.customers import services as customer_services
from rapport.customers.models import Customer, Identity, identity_index_of
from rapport.customers.queries import identity_owners
from rapport.testing import piiscan

PHONE, EMAIL = "13106350292", "Lin.Chen@example.com"
SECRETS = piiscan.Secrets()
SECRETS.add("phone", PHONE, "131****0292")
SECRETS.add("email", EMAIL, "L***@example.com")


def _raw_ids() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT external_id FROM customers_identity ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_personal_ids_are_sealed_and_found_by_their_blind_index(system_actor: Actor) -> None:
    identities = [("youzan", PHONE), ("shopify", EMAIL), ("wechat", "oX9a-openid"), ("member_card", "M0042")]
    customer = customer_services.create_customer(data={"name": "Lin Chen"}, actor=system_actor, identities=identities)
    raw = _raw_ids()
    assert raw[-1] == "M0042"  # a card number the shop printed stays readable (segments match parts of it)
    assert all(value.startswith(f"{shredding.PREFIX}{customer.pk}:") for value in raw[:-1])
    assert not any(secret in value for value in raw for secret in (PHONE, "0635", "lin.chen", "oX9a"))
    assert sorted(customer.identities.values_list("channel", "external_id")) == sorted(identities)  # read back

    for channel, external_id in identities:
        assert customer_services.find_by_identity(channel, external_id) == customer
    assert customer_services.find_by_identity("shopify", EMAIL.lower()) is None  # exact, as shops send them
    assert identity_owners({("youzan", PHONE), ("youzan", "13800000000")}) == {("youzan", PHONE): customer.pk}
    assert list(customer_services.search(Customer.objects.all(), PHONE)) == [customer]
    assert list(customer_services.search(Customer.objects.all(), "oX9a-openid")) == [customer]
    again = Identity.objects.get(external_index=identity_index_of("youzan", PHONE))
    assert again.customer_id == customer.pk and again.external_id == PHONE

    assert not [f for f in piiscan.scan_database(SECRETS) if f.startswith("customers_identity.")]
    with connection.cursor() as cursor:  # as a bulk path that bypassed the field would write it
        cursor.execute("UPDATE customers_identity SET external_id = %s WHERE channel = 'youzan'", [PHONE])
    assert "customers_identity.external_id: customer phone (131****0292)" in piiscan.scan_database(SECRETS)
    Identity.objects.filter(channel="youzan").delete()  # planted for this test only


@pytest.mark.django_db
def test_the_counter_finds_a_member_by_card_number_sealed_or_not(system_actor: Actor) -> None:
    plain = customer_services.create_customer(
        data={"name": "Card Holder"}, actor=system_actor, identities=[("card", "880012")]
    )
    phone_card = customer_services.create_customer(
        data={"name": "Phone Card"}, actor=system_actor, identities=[("member_card", "13800138000")]
    )
    assert _raw_ids()[0] == "880012" and _raw_ids()[1].startswith(shredding.PREFIX)  # a phone as a card: sealed
    assert [counter.visited_customer(m.token).pk for m in counter.find_members("880012", actor=system_actor)] == [
        plain.pk
    ]
    assert [counter.visited_customer(m.token).pk for m in counter.find_members("13800138000", actor=system_actor)] == [
        phone_card.pk
    ]


BEFORE = [("customers", "0015_customer_recruited_by")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_existing_ids_in_batches() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldCustomer, OldIdentity = old.get_model("customers", "Customer"), old.get_model("customers", "Identity")
    amy = OldCustomer.objects.create(name="Amy", registered_at=timezone.now())
    OldIdentity.objects.create(customer=amy, channel="youzan", external_id=PHONE)
    OldIdentity.objects.create(customer=amy, channel="card", external_id="C-7")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(leaves)

    assert _raw_ids()[0].startswith(f"{shredding.PREFIX}{amy.pk}:") and _raw_ids()[1] == "C-7"
    assert customer_services.find_by_identity("youzan", PHONE).pk == amy.pk
    assert customer_services.find_by_identity("card", "C-7").pk == amy.pk
