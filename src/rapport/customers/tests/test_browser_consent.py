import pytest

from rapport.accounts import roles
from rapport.customers import consent
from rapport.customers.models import ConsentRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_records_consent_on_the_360_page(page, sign_in, make_staff, make_customer):
    make_staff(roles.OPERATOR, username="ops")
    customer = make_customer(name="王芳 Wang Fang")

    sign_in("ops")
    page.goto(f"/customers/{customer.pk}/?tab=consent")
    email_marketing = page.get_by_label("Email · Marketing")
    assert not email_marketing.is_checked()
    assert page.get_by_label("Email · Service messages").is_checked()  # the default

    email_marketing.check()
    page.fill("#consent-evidence", "asked in store, paper form #88")
    page.click("text=Save consent")
    page.wait_for_url("**?tab=consent")
    assert page.get_by_label("Email · Marketing").is_checked()
    assert "paper form #88" in page.content()
    assert consent.has_consent(customer.pk, "email", "marketing")
    assert ConsentRecord.objects.get(customer=customer).actor_label == "ops"
