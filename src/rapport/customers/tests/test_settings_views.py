"""Console settings pages for stores and custom fields through the Django test client."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.customers.models import CustomFieldDefinition, Store
from rapport.customers.services import save_custom_field

pytestmark = pytest.mark.django_db

STORES = "/customers/settings/stores/"
CUSTOM_FIELDS = "/customers/settings/custom-fields/"


@pytest.fixture
def signed_in(client, make_staff):
    def sign_in(role=roles.ADMIN, **kwargs):
        user = make_staff(role, **kwargs)
        client.force_login(user)
        return user

    return sign_in


@pytest.fixture
def tier(system_actor):
    return save_custom_field(
        data={"key": "tier", "label": "Tier", "field_type": "choice", "choices": ["gold", "silver"]},
        actor=system_actor,
    )


def _store_post(**overrides):
    data = {
        "code": "gz-01",
        "name": "Guangzhou Store",
        "city": "广州",
        "time_zone": "Asia/Shanghai",
        "currency": "CNY",
        "is_active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _field_errors(response, name):
    return [str(e) for e in response.context["form"].errors.get(name, [])]


# Stores ------------------------------------------------------------------------------------


def test_store_list_shows_each_store_with_its_customer_count(client, signed_in, store, other_store, make_customer):
    signed_in()
    make_customer(store="sh-01")
    make_customer(store="sh-01")
    page = client.get(STORES).content.decode()
    shanghai = page[page.index('id="store-sh-01"') :]
    shanghai = shanghai[: shanghai.index("</tr>")]
    assert "Shanghai Flagship" in shanghai and "Asia/Shanghai" in shanghai and ">2</a>" in shanghai
    beijing = page[page.index('id="store-bj-01"') :]
    assert ">0</a>" in beijing[: beijing.index("</tr>")]
    assert "New store" in page and "Deactivate" in page


def test_store_staff_count_only_the_customers_of_their_own_store(client, signed_in, store, other_store, make_customer):
    make_customer(store="sh-01")
    make_customer(store="bj-01")
    make_customer(store="bj-01")
    signed_in(roles.STORE_STAFF, store=store)
    stores = dict(client.get(STORES).context["stores"])
    assert stores[store] == 1 and stores[other_store] == 0


def test_read_only_roles_see_stores_without_the_buttons_that_change_them(client, signed_in, store):
    signed_in(roles.ANALYST)
    response = client.get(STORES)
    page = response.content.decode()
    assert response.status_code == 200 and "Shanghai Flagship" in page
    assert "New store" not in page and "Deactivate" not in page


def test_create_store_saves_every_field_and_audits(client, signed_in):
    signed_in()
    response = client.post(f"{STORES}new/", _store_post(is_online="on", time_zone="Asia/Urumqi", currency="hkd"))
    assert response.status_code == 302 and response["Location"] == STORES
    created = Store.objects.get(code="gz-01")
    assert (created.name, created.city, created.time_zone, created.currency) == (
        "Guangzhou Store",
        "广州",
        "Asia/Urumqi",
        "HKD",
    )
    assert created.is_online and created.is_active
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, object_id=str(created.pk)).exists()


def test_create_store_with_bad_input_shows_errors_beside_fields_and_saves_nothing(client, signed_in, store):
    signed_in()
    response = client.post(f"{STORES}new/", _store_post(code="sh-01", name="", currency="yuan"))
    assert response.status_code == 200
    assert _field_errors(response, "code") == ["a store with code 'sh-01' exists"]
    assert _field_errors(response, "name") == ["a store name of 1 to 120 characters"]
    assert _field_errors(response, "currency") == ["an ISO 4217 code such as CNY"]
    assert 'id="code-errors"' in response.content.decode()
    assert list(Store.objects.values_list("code", flat=True)) == ["sh-01"]


def test_create_store_refuses_an_unknown_time_zone_and_a_city_too_long(client, signed_in):
    signed_in()
    response = client.post(f"{STORES}new/", _store_post(time_zone="Mars/Olympus", city="x" * 81))
    assert response.status_code == 200
    assert _field_errors(response, "time_zone") and _field_errors(response, "city")
    assert not Store.objects.exists()


def test_edit_store_form_starts_from_the_store_and_saves_changes(client, signed_in, store):
    signed_in()
    url = f"{STORES}{store.pk}/"
    form = client.get(url).context["form"]
    assert form["code"].value() == "sh-01" and form["name"].value() == "Shanghai Flagship"
    response = client.post(url, _store_post(code="sh-01", name="Shanghai Nanjing Road", time_zone="Asia/Shanghai"))
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.name == "Shanghai Nanjing Road" and store.city == "广州"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE, object_id=str(store.pk))
    assert entry.changes["name"] == ["Shanghai Flagship", "Shanghai Nanjing Road"]


def test_edit_store_with_a_taken_code_keeps_the_store_unchanged(client, signed_in, store, other_store):
    signed_in()
    response = client.post(f"{STORES}{store.pk}/", _store_post(code="bj-01", name="Renamed"))
    assert _field_errors(response, "code") == ["a store with code 'bj-01' exists"]
    store.refresh_from_db()
    assert (store.code, store.name) == ("sh-01", "Shanghai Flagship")


def test_deactivate_and_reactivate_a_store_with_customers(client, signed_in, store, make_customer):
    signed_in()
    customer = make_customer(store="sh-01")
    url = f"{STORES}{store.pk}/active/"
    assert client.post(url, {"active": "0"}).status_code == 302
    store.refresh_from_db()
    assert not store.is_active
    customer.refresh_from_db()
    assert customer.store_id == store.pk
    assert client.post(url, {"active": "1"}).status_code == 302
    store.refresh_from_db()
    assert store.is_active
    assert client.get(url).status_code == 405


def test_staff_without_store_permissions_get_403(client, signed_in, store, make_staff):
    signed_in(roles.OPERATOR)
    assert client.get(STORES).status_code == 200
    assert client.get(f"{STORES}new/").status_code == 403
    assert client.post(f"{STORES}new/", _store_post()).status_code == 403
    assert client.get(f"{STORES}{store.pk}/").status_code == 403
    assert client.post(f"{STORES}{store.pk}/active/", {"active": "0"}).status_code == 403
    store.refresh_from_db()
    assert store.is_active and not Store.objects.filter(code="gz-01").exists()


def test_staff_without_any_role_cannot_see_stores_or_custom_fields(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get(STORES).status_code == 403
    assert client.get(CUSTOM_FIELDS).status_code == 403


def test_settings_link_in_the_main_nav_leads_to_stores(client, signed_in):
    signed_in(roles.ANALYST)
    page = client.get("/customers/").content.decode()
    assert f'<a href="{STORES}" class="">Settings</a>' in page


# Custom fields -----------------------------------------------------------------------------


def test_custom_field_list_shows_every_definition(client, signed_in, tier, system_actor):
    save_custom_field(
        data={"key": "shoe_size", "label": "Shoe size", "field_type": "integer", "required": True, "is_active": False},
        actor=system_actor,
    )
    signed_in()
    page = client.get(CUSTOM_FIELDS).content.decode()
    row = page[page.index('id="custom-field-tier"') :]
    row = row[: row.index("</tr>")]
    assert "Tier" in row and "One of a list" in row and "gold, silver" in row
    shoe = page[page.index('id="custom-field-shoe_size"') :]
    shoe = shoe[: shoe.index("</tr>")]
    assert "Whole number" in shoe and "yes" in shoe and "inactive" in shoe
    assert "New custom field" in page


def test_create_custom_field_saves_it_and_audits(client, signed_in):
    signed_in()
    response = client.post(
        f"{CUSTOM_FIELDS}new/",
        {
            "key": "favourite_colour",
            "label": "Favourite colour",
            "field_type": "multi_choice",
            "choices": "red\r\n\r\n green \r\nblue",
            "required": "on",
            "max_length": "50",
            "help_text": "Ask at the till",
            "position": "3",
            "is_active": "on",
        },
    )
    assert response.status_code == 302 and response["Location"] == CUSTOM_FIELDS
    definition = CustomFieldDefinition.objects.get(key="favourite_colour")
    assert definition.choices == ["red", "green", "blue"]
    assert (definition.required, definition.max_length, definition.position) == (True, 50, 3)
    assert definition.help_text == "Ask at the till" and definition.is_active
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, object_id=str(definition.pk)).exists()


def test_create_custom_field_with_bad_input_shows_errors_beside_fields(client, signed_in, tier):
    signed_in()
    base = {"field_type": "choice", "choices": "", "max_length": "200", "position": "0"}
    response = client.post(f"{CUSTOM_FIELDS}new/", {**base, "key": "Bad Key", "label": ""})
    assert response.status_code == 200
    assert _field_errors(response, "key") == ["a key of lower-case letters, digits and _ (at most 50)"]
    assert _field_errors(response, "label") == ["give the field a label"]
    assert _field_errors(response, "choices") == ["a list of at least one non-empty text choice"]
    assert 'id="choices-errors"' in response.content.decode()
    duplicate = client.post(f"{CUSTOM_FIELDS}new/", {**base, "key": "tier", "label": "Tier", "choices": "a"})
    assert _field_errors(duplicate, "key") == ["a custom field 'tier' exists"]
    too_long = client.post(f"{CUSTOM_FIELDS}new/", {**base, "key": "x", "label": "X", "max_length": "0"})
    assert _field_errors(too_long, "max_length")
    assert list(CustomFieldDefinition.objects.values_list("key", flat=True)) == ["tier"]


def test_edit_custom_field_keeps_key_and_type_fixed(client, signed_in, tier):
    signed_in()
    url = f"{CUSTOM_FIELDS}tier/edit/"
    form = client.get(url).context["form"]
    assert form.fields["key"].disabled and form.fields["field_type"].disabled
    assert form["choices"].value() == "gold\nsilver"
    response = client.post(
        url,
        {
            "key": "renamed",
            "field_type": "text",
            "label": "Member tier",
            "choices": "gold\nsilver\nbronze",
            "max_length": "200",
            "position": "1",
        },
    )
    assert response.status_code == 302
    tier.refresh_from_db()
    assert (tier.key, tier.field_type, tier.label) == ("tier", "choice", "Member tier")
    assert tier.choices == ["gold", "silver", "bronze"] and not tier.is_active
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UPDATE, object_id=str(tier.pk))
    assert "key" not in entry.changes["fields"] and "label" in entry.changes["fields"]


def test_edit_custom_field_with_no_choices_left_saves_nothing(client, signed_in, tier):
    signed_in()
    response = client.post(
        f"{CUSTOM_FIELDS}tier/edit/", {"label": "Renamed", "choices": " \n", "max_length": "200", "position": "0"}
    )
    assert _field_errors(response, "choices") == ["a list of at least one non-empty text choice"]
    tier.refresh_from_db()
    assert tier.label == "Tier" and tier.choices == ["gold", "silver"]


def test_unknown_custom_field_is_404(client, signed_in):
    signed_in()
    assert client.get(f"{CUSTOM_FIELDS}nothing/edit/").status_code == 404


def test_staff_without_custom_field_permissions_get_403(client, signed_in, tier):
    signed_in(roles.OPERATOR)
    page = client.get(CUSTOM_FIELDS)
    assert page.status_code == 200 and "New custom field" not in page.content.decode()
    assert client.get(f"{CUSTOM_FIELDS}new/").status_code == 403
    assert client.post(f"{CUSTOM_FIELDS}new/", {"key": "x", "label": "X", "field_type": "text"}).status_code == 403
    assert client.post(f"{CUSTOM_FIELDS}tier/edit/", {"label": "Hacked"}).status_code == 403
    tier.refresh_from_db()
    assert tier.label == "Tier" and not CustomFieldDefinition.objects.filter(key="x").exists()
