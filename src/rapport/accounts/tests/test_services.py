import pytest
from django.contrib.auth.models import Group

from rapport.accounts import roles
from rapport.accounts.services import (
    authenticate_token,
    create_api_token,
    customer_scope,
    revoke_api_token,
    role_of,
)
from rapport.core.errors import InvalidInput
from rapport.customers.models import Customer


def test_every_role_exists_as_a_group_with_permissions(db):
    for role in roles.ROLE_PERMISSIONS:
        group = Group.objects.get(name=role)
        assert group.permissions.exists(), role


def test_only_roles_with_the_right_may_reveal_personal_data(make_staff):
    assert make_staff(roles.SERVICE_AGENT).has_perm("customers.reveal_pii")
    assert not make_staff(roles.ANALYST).has_perm("customers.reveal_pii")
    assert not make_staff(roles.OPERATOR).has_perm("customers.reveal_pii")


def test_sales_staff_see_only_their_own_customers(make_staff, make_customer):
    sales = make_staff(roles.SALES)
    mine = make_customer(owner=sales.pk)
    make_customer()
    assert list(Customer.objects.filter(customer_scope(sales))) == [mine]
    assert role_of(sales) == roles.SALES


def test_store_staff_see_only_their_store(make_staff, make_customer, store, other_store):
    clerk = make_staff(roles.STORE_STAFF, store=store)
    local = make_customer(store=store.code)
    make_customer(store=other_store.code)
    assert list(Customer.objects.filter(customer_scope(clerk))) == [local]


def test_store_staff_without_a_store_see_nobody(make_staff, make_customer):
    make_customer()
    assert not Customer.objects.filter(customer_scope(make_staff(roles.STORE_STAFF))).exists()


def test_tokens_authenticate_until_revoked_and_keep_no_plaintext(admin_user, system_actor):
    token, plaintext = create_api_token(user=admin_user, name="shop", scopes=["customers:read"], actor=system_actor)
    assert plaintext not in token.secret_hash
    assert authenticate_token(plaintext) == token
    assert authenticate_token(plaintext[:-1] + "x") is None
    assert authenticate_token("garbage") is None
    revoke_api_token(prefix=token.prefix, actor=system_actor)
    assert authenticate_token(plaintext) is None


def test_tokens_need_known_scopes_and_a_name(admin_user, system_actor):
    with pytest.raises(InvalidInput) as excinfo:
        create_api_token(user=admin_user, name="", scopes=["everything"], actor=system_actor)
    assert {e.field for e in excinfo.value.errors} == {"name", "scopes"}
