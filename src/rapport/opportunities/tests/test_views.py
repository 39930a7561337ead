"""The console pages: the board's move form refuses won without an order (the message names it,
nothing changes) and moves with one; a salesperson cannot open another's opportunity."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.core.actor import Actor, Source
from rapport.opportunities import services
from rapport.opportunities.models import Opportunity
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=STAFF_PASSWORD)
    return client


def test_the_board_moves_a_card_and_refuses_won_without_an_order(make_staff, make_customer):
    seller = make_staff(roles.SALES)
    customer = make_customer(owner=seller.pk)
    data = {"title": "VIP 预约", "value": "5000", "currency": "CNY", "expected_close": "2027-02-01"}
    opportunity = services.create_opportunity(customer, data, actor=Actor(user=seller, source=Source.CONSOLE))
    won = opportunity.pipeline.stages.get(name="Won")
    client = signed_in(seller)
    board = client.get("/opportunities/")
    assert board.status_code == 200 and "VIP 预约" in board.content.decode()
    refused = client.post(f"/opportunities/{opportunity.pk}/move/", {"stage": won.pk}, follow=True)
    assert "Winning needs an order of this customer." in refused.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).status == "open"
    proposal = opportunity.pipeline.stages.get(name="Proposal")
    client.post(f"/opportunities/{opportunity.pk}/move/", {"stage": proposal.pk})
    assert Opportunity.objects.get(pk=opportunity.pk).stage == proposal
    stranger = signed_in(make_staff(roles.SALES))
    assert "VIP 预约" not in stranger.get("/opportunities/").content.decode()
    assert stranger.get(f"/opportunities/{opportunity.pk}/", follow=True).redirect_chain[-1][0] == "/opportunities/"


def test_the_new_page_finds_the_customer_by_name_and_creates(make_staff, make_customer):
    seller = make_staff(roles.SALES)
    customer = make_customer(name="Zhou Yun", owner=seller.pk)
    make_customer(name="Zhou Other")  # not the seller's: not offered
    client = signed_in(seller)
    found = client.get("/opportunities/new/", {"q": "Zhou"}).content.decode()
    assert f"?customer={customer.pk}" in found and "Zhou Other" not in found
    created = client.post(
        "/opportunities/new/",
        {
            "customer": customer.pk,
            "title": "企业礼品",
            "value": "-1",
            "currency": "CNY",
            "expected_close": "2027-01-01",
        },
    )
    assert created.status_code == 200 and Opportunity.objects.count() == 0
    created = client.post(
        "/opportunities/new/",
        {
            "customer": customer.pk,
            "title": "企业礼品",
            "value": "9000",
            "currency": "CNY",
            "expected_close": "2027-01-01",
        },
    )
    assert created.status_code == 302 and Opportunity.objects.get().owner == seller
