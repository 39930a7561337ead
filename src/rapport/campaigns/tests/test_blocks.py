"""Email from blocks: validation naming the block and field, HTML and text for a chosen customer,
the unsubscribe footer that is always there, coupons and recommendations, and the send path."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.campaigns import services, starters
from rapport.campaigns.delivery import blocks, channels
from rapport.campaigns.models import ContentTemplate, Message
from rapport.commerce import services as commerce
from rapport.core.errors import InvalidInput
from rapport.loyalty.services import coupons
from rapport.loyalty.tests.factories import coupon_template
from rapport.recommendations.models import Recommendation

WELCOME = [
    {"type": "heading", "text": "Hello {{first_name}}"},
    {"type": "text", "text": "You are a {{level}} member with {{points}} points.\nSee you soon."},
    {"type": "button", "label": "Shop now", "url": "https://shop.example.com/new?a=1&b=2"},
]


def _errors(raw):
    with pytest.raises(InvalidInput) as caught:
        blocks.clean_blocks(raw)
    return {e.field: e for e in caught.value.errors}


def test_a_bad_block_is_refused_naming_the_block_and_the_field(db):
    errors = _errors(
        [
            {"type": "heading", "text": ""},
            {"type": "button", "label": "Go", "url": "javascript:alert(1)"},
            {"type": "text", "text": "Hi {{ secret }}"},
            {"type": "video"},
            {"type": "divider", "colour": "red"},
            {"type": "coupon", "template": 999_999},
        ]
    )
    assert errors["blocks.0.text"].code == "required" and "block 1 (Heading)" in errors["blocks.0.text"].message
    assert errors["blocks.1.url"].code == "invalid" and "block 2 (Button)" in errors["blocks.1.url"].message
    assert errors["blocks.2.text"].code == "unknown_variable" and "first_name" in errors["blocks.2.text"].message
    assert errors["blocks.3.type"].code == "invalid"
    assert errors["blocks.4.colour"].code == "unknown_field"
    assert errors["blocks.5.template"].code == "not_found"


def test_a_footer_is_added_when_the_operator_left_it_out(db):
    cleaned = blocks.clean_blocks(WELCOME)
    assert cleaned[-1]["type"] == "footer" and len(cleaned) == 4
    assert blocks.clean_blocks(cleaned) == cleaned
    assert _errors([*cleaned, {"type": "footer"}])["blocks.4.type"].code == "duplicate"
    assert _errors([{"type": "footer"}])["blocks"].code == "required"


def test_preview_renders_html_and_text_for_the_customer_with_the_unsubscribe_link(make_member, system_actor):
    customer = make_member(name="Ada Lovelace")
    template = services.save_template(
        data={"name": "Welcome", "channel": "email", "subject": "Welcome {{first_name}}", "blocks": WELCOME},
        actor=system_actor,
    )
    assert template.body == "" and template.blocks[-1]["type"] == "footer"
    rendered = services.preview(template, customer)
    assert rendered.subject == "Welcome Ada"
    assert "Hello Ada" in rendered.html and "<table" in rendered.html and 'style="' in rendered.html
    assert "with 0 points.<br>See you soon." in rendered.html
    assert 'href="https://shop.example.com/new?a=1&amp;b=2"' in rendered.html
    assert 'class="unsubscribe"' in rendered.html and "/campaigns/u/" in rendered.html
    assert rendered.body.startswith("Hello Ada\n\nYou are a  member with 0 points.")
    assert "Shop now: https://shop.example.com/new?a=1&b=2" in rendered.body
    assert "Unsubscribe: http" in rendered.body and "<" not in rendered.body


def test_a_stored_list_without_a_footer_still_gets_the_unsubscribe_link(make_member):
    customer = make_member(name="Bo")
    personal = blocks.personal_for([customer.pk], WELCOME)[customer.pk]
    rendered = blocks.render(WELCOME, personal, subject="Hi", unsubscribe_url="https://x.example/u/1/")
    assert 'href="https://x.example/u/1/"' in rendered.html and "https://x.example/u/1/" in rendered.text


def test_personal_values_are_escaped_in_the_html(make_member):
    customer = make_member(name="<b>Eve</b>")
    personal = blocks.personal_for([customer.pk], WELCOME)[customer.pk]
    rendered = blocks.render(WELCOME, personal, subject="Hi", unsubscribe_url="")
    assert "<b>Eve" not in rendered.html and "&lt;b&gt;Eve" in rendered.html


def test_the_coupon_block_shows_the_customers_issued_code(make_member, system_actor):
    customer = make_member(name="王芳")
    offer = coupon_template(name="满199减20", amount_off=Decimal("20"), threshold=Decimal("199"))
    coupon = coupons.issue(offer, customer, key="welcome-1", actor=system_actor)
    email = [{"type": "coupon", "template": offer.pk}]
    personal = blocks.personal_for([customer.pk], email)[customer.pk]
    rendered = blocks.render(email, personal, subject="礼券", unsubscribe_url="")
    assert "满199减20" in rendered.html and coupon.code in rendered.html and "¥20" in rendered.html
    assert f"Code: {coupon.code}" in rendered.text


def test_the_recommendation_block_lists_products_with_reasons(make_member, system_actor):
    customer = make_member(name="Ada")
    bought, _ = commerce.upsert_product(data={"sku": "tea-1", "name": "Green tea", "price": "30"}, actor=system_actor)
    pick, _ = commerce.upsert_product(
        data={"sku": "cup-1", "name": "Tea cup", "price": "45", "product_url": "https://shop.example.com/cup"},
        actor=system_actor,
    )
    Recommendation.objects.create(
        customer=customer,
        items={"products": [pick.pk], "scores": [0.9], "reasons": ["together"], "because": [bought.pk]},
        computed_at=timezone.now(),
    )
    email = [{"type": "recommendations", "title": "For you", "count": 3, "show_reasons": True}]
    personal = blocks.personal_for([customer.pk], email)[customer.pk]
    rendered = blocks.render(email, personal, subject="x", unsubscribe_url="")
    assert "Tea cup" in rendered.html and "Often bought with Green tea" in rendered.html
    assert "- Tea cup, CNY 45.00 (Often bought with Green tea) https://shop.example.com/cup" in rendered.text


def test_plain_text_templates_keep_working(make_member, make_template):
    customer = make_member(name="Ada")
    template = make_template(body="Dear {{ customer.name }}")
    assert template.blocks == []
    assert services.preview(template, customer).body == "Dear Ada"


def test_blocks_are_for_email_only(db, system_actor):
    with pytest.raises(InvalidInput) as caught:
        services.save_template(data={"name": "x", "channel": "sms", "blocks": WELCOME}, actor=system_actor)
    assert [e.field for e in caught.value.errors] == ["blocks"]


def test_a_campaign_sends_a_block_email_as_text_and_html_with_tracked_links(
    make_member, make_plan, launch, system_actor, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_member(name="Ada")
    template = services.save_template(
        data={"name": "Blocks", "channel": "email", "subject": "Hi {{first_name}}", "blocks": WELCOME},
        actor=system_actor,
    )
    plan = make_plan(
        steps=[{"kind": "send", "config": {"channel": "email", "variants": [{"key": "A", "template": template.pk}]}}]
    )
    launch(plan)
    channels.deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    assert Message.objects.get(plan=plan).status in (Message.Status.SENT, Message.Status.DELIVERED)
    sent = mail.outbox[-1]
    html, kind = sent.alternatives[0]
    assert kind == "text/html" and sent.subject == "Hi Ada"
    assert "Hello Ada" in sent.body and "Hello Ada" in html
    assert "shop.example.com" not in html.split("/campaigns/u/")[0]  # the button goes through the click redirect
    assert "/campaigns/t/c/" in html and "/campaigns/t/o/" in html
    assert "/campaigns/u/" in html and "/campaigns/u/" in sent.body
    assert ContentTemplate.objects.get(pk=template.pk).blocks[-1]["type"] == "footer"


@pytest.mark.parametrize("starter", starters.STARTERS, ids=lambda s: s.key)
def test_every_starter_is_a_valid_email_in_its_language(db, starter):
    offer = coupon_template(name="满199减20")
    cleaned = blocks.clean_blocks(starter.blocks_for(offer.pk))
    assert cleaned[-1]["type"] == "footer" and not blocks.check_subject(starter.subject)
    assert starter.purpose


def test_a_batch_is_filled_in_a_fixed_number_of_queries(make_member, django_assert_max_num_queries, system_actor):
    """Names, level, points and coupons for a whole batch: no query per customer."""
    customers = [make_member(name=f"Member {n}") for n in range(6)]
    offer = coupon_template(name="满199减20")
    email = [
        {"type": "text", "text": "{{first_name}} {{level}} {{points}}"},
        {"type": "coupon", "template": offer.pk},
    ]
    with django_assert_max_num_queries(6):
        personal = blocks.personal_for([c.pk for c in customers], email)
    assert personal[customers[0].pk].fields["first_name"] == "Member"


def test_the_recommendation_block_of_a_batch_takes_the_queries_of_one_message(
    make_member, system_actor, django_assert_num_queries
):
    """A campaign renders thousands of messages: the block's lists are read for the whole batch
    (customers with their stored lists, purchases since, products with stock), not per recipient."""
    products = [
        commerce.upsert_product(data={"sku": f"cup-{n}", "name": f"Cup {n}", "price": "45"}, actor=system_actor)[0]
        for n in range(4)
    ]
    customers = [make_member(name=f"Member {n}") for n in range(8)]
    for n, customer in enumerate(customers):
        picks = [products[n % 4].pk, products[(n + 1) % 4].pk]
        Recommendation.objects.create(
            customer=customer,
            items={"products": picks, "scores": [0.9, 0.5], "reasons": ["together"] * 2, "because": picks[::-1]},
            computed_at=timezone.now(),
        )
    email = [{"type": "recommendations", "title": "For you", "count": 2, "show_reasons": True}]

    def render_all(batch):
        personal = blocks.personal_for([c.pk for c in batch], email)
        return [blocks.render(email, personal[c.pk], subject="x", unsubscribe_url="").html for c in batch]

    render_all(customers[:1])  # the rules' and best sellers' copies of this process are read once
    with CaptureQueriesContext(connection) as one:
        render_all(customers[:1])
    with django_assert_num_queries(len(one.captured_queries)):
        rendered = render_all(customers)
    assert all(f"Cup {n % 4}" in html and "Often bought with" in html for n, html in enumerate(rendered))
