"""The email editor in Chromium: an operator builds an email from blocks without typing JSON or
template code, previews it as a customer found by name at desktop and phone width, saves it and
sends a test; in English and Chinese, on a desktop and a 390×844 phone."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from rapport.accounts import roles
from rapport.campaigns.models import ContentTemplate
from rapport.commerce import services as commerce
from rapport.recommendations.models import Recommendation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("language", "width", "height"),
    [("en", 1280, 900), ("zh-hans", 390, 844)],
    ids=["english-desktop", "chinese-phone"],
)
def test_build_an_email_from_blocks_and_preview_it_as_a_customer_found_by_name(
    page, sign_in, make_staff, make_member, system_actor, settings, language, width, height
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_staff(roles.OPERATOR, username="writer")
    ada = make_member(name="Ada Lovelace")
    make_member(name="Bob Stone")
    bought, _ = commerce.upsert_product(data={"sku": "tea-1", "name": "Green tea", "price": "30"}, actor=system_actor)
    cup, _ = commerce.upsert_product(data={"sku": "cup-1", "name": "Tea cup", "price": "45"}, actor=system_actor)
    Recommendation.objects.create(
        customer=ada,
        items={"products": [cup.pk], "scores": [0.9], "reasons": ["together"], "because": [bought.pk]},
        computed_at=timezone.now(),
    )

    page.set_viewport_size({"width": width, "height": height})
    sign_in("writer", language=language)
    page.goto("/campaigns/templates/new/")
    assert page.inner_text("#add-block") == {"en": "Add block", "zh-hans": "添加内容块"}[language]
    page.fill("#id_name", "Autumn letter")
    page.fill("#id_subject", "Autumn, ")
    page.locator("#id_subject").press("End")
    page.select_option("#subject-token-picker", "first_name")
    # a new email starts as heading, text and footer; a name is picked from the list, not typed
    page.fill("#block-0-text", "Hello ")
    page.locator("#block-0-text").press("End")
    page.locator(".email-block").nth(0).locator(".token-picker").select_option("first_name")
    assert page.input_value("#block-0-text") == "Hello {{first_name}}"
    page.fill("#block-1-text", "New teas are in.")
    page.select_option("#new-block-type", "button")
    page.click("#add-block")
    page.fill("#block-2-label", "Shop")
    page.fill("#block-2-url", "https://shop.example.com/tea")
    page.select_option("#new-block-type", "recommendations")
    page.click("#add-block")
    page.locator(".email-block").nth(3).locator(".block-up").click()  # recommendations above the button
    assert page.locator(".email-block").nth(2).get_attribute("data-type") == "recommendations"

    page.fill("#preview-search", "Ada")
    page.click(".preview-customer >> text=Ada Lovelace")
    frame = page.frame_locator("#email-preview")
    frame.locator("text=Hello Ada").wait_for()
    assert frame.locator("text=Tea cup").is_visible()
    assert frame.locator(".unsubscribe").count() == 1
    assert "Hello Ada" in page.text_content("#preview-text")  # the text part, folded away

    page.click("#preview-phone")
    assert page.eval_on_selector("#email-preview", "e => e.getBoundingClientRect().width") == 375
    page.click("#preview-desktop")
    assert page.eval_on_selector("#email-preview", "e => e.getBoundingClientRect().width") == 600
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # a bad link is named beside its field before saving
    page.fill("#block-3-url", "shop")
    page.locator(".email-block").nth(3).locator(".field-error").wait_for()

    page.fill("#block-3-url", "https://shop.example.com/tea")
    page.click("#save-template")
    page.wait_for_selector("#test-send")
    template = ContentTemplate.objects.get(name="Autumn letter")
    assert [b["type"] for b in template.blocks] == ["heading", "text", "recommendations", "button", "footer"]
    assert template.blocks[0]["text"] == "Hello {{first_name}}" and template.subject == "Autumn, {{first_name}}"

    page.fill("#preview-search", "Ada")
    page.click(".preview-customer >> text=Ada Lovelace")
    page.fill("#id_to", "qa@example.com")
    page.click("#test-send")
    page.wait_for_selector("#test-send")
    sent = mail.outbox[-1]
    assert sent.to == ["qa@example.com"] and "Hello Ada" in sent.body and sent.subject.endswith("Autumn, Ada")
    assert "Hello Ada" in sent.alternatives[0][0]


def test_the_sms_composer_counts_characters_and_segments_as_you_type(page, sign_in, make_staff):
    make_staff(roles.OPERATOR, username="texter")
    sign_in("texter")
    page.goto("/campaigns/templates/new/")
    page.select_option("#id_channel", "sms")
    assert page.is_hidden("#email-editor") and page.is_visible("#id_body")
    page.fill("#id_body", "a" * 161)
    assert page.inner_text("#sms-count") == "161 characters · 2 SMS (GSM-7)"
    page.fill("#id_body", "双十一会员专享" * 10)
    assert page.inner_text("#sms-count") == "70 characters · 1 SMS (UCS-2)"
