import pytest

from rapport.accounts import roles
from rapport.customers.models import Customer, CustomFieldDefinition, Store
from rapport.customers.services import add_address

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sets_up_a_store_and_a_custom_field_from_the_settings_pages(page, sign_in, make_staff):
    make_staff(roles.ADMIN, username="boss")

    sign_in("boss")
    page.click("nav.mainnav >> text=Settings")
    page.wait_for_url("**/customers/settings/stores/")
    page.click("#new-store")
    page.fill("#id_code", "hz-01")
    page.fill("#id_name", "Hangzhou West Lake")
    page.fill("#id_city", "杭州")
    page.check("#id_is_online")
    page.click("#save-store")
    page.wait_for_url("**/customers/settings/stores/")
    assert "Hangzhou West Lake" in page.inner_text("#store-hz-01")
    assert Store.objects.get(code="hz-01").is_online

    page.click("#settings-subnav >> text=Custom fields")
    page.click("#new-custom-field")
    page.fill("#id_key", "tier")
    page.fill("#id_label", "Member tier")
    page.select_option("#id_field_type", "choice")
    page.click("#save-custom-field")
    page.wait_for_selector("#choices-errors")
    assert "at least one non-empty text choice" in page.inner_text("#choices-errors")
    assert not CustomFieldDefinition.objects.exists()

    page.fill("#id_choices", "gold\nsilver")
    page.click("#save-custom-field")
    page.wait_for_url("**/customers/settings/custom-fields/")
    assert "gold, silver" in page.inner_text("#custom-field-tier")
    assert CustomFieldDefinition.objects.get(key="tier").choices == ["gold", "silver"]


def test_staff_find_imported_namesakes_and_merge_them(page, sign_in, make_staff, make_customer, system_actor):
    """Two shops' imports hold one person twice, spelled differently: the scan puts the pair in
    the queue, and a person merges it from there."""
    make_staff(roles.ADMIN, username="boss")
    older = make_customer(name="Wang Fang", city="苏州")
    newer = make_customer(name="fang wang")
    for customer in (older, newer):
        add_address(
            customer, data={"line1": "88 Renmin Rd", "city": "苏州", "postal_code": "215000"}, actor=system_actor
        )

    sign_in("boss")
    page.goto("/customers/merges/")
    assert "Nothing to decide." in page.inner_text("main")
    page.click("text=Look for duplicates now")
    page.wait_for_selector(".merge-suggestion")
    card = page.inner_text(".merge-suggestion")
    assert "same name and address" in card and "Wang Fang" in card and "fang wang" in card

    page.click(".merge-suggestion >> text=Merge")
    page.wait_for_selector("text=merged into")
    assert list(Customer.objects.values_list("pk", flat=True)) == [older.pk]  # the older one is kept
    assert f"#{newer.pk} fang wang" in page.inner_text("main")  # in the recent merges
