"""The launch confirmation page: the reach before the start, then the launch on confirming."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rapport.accounts import roles
from rapport.campaigns.models import Plan
from rapport.testing.fixtures import STAFF_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(make_staff: Any) -> Client:
    user = make_staff(roles.OPERATOR, username="marketer")
    client = Client()
    assert client.login(username=user.username, password=STAFF_PASSWORD)
    return client


def test_the_confirmation_shows_the_reach_and_launches_nothing(operator_client, make_plan, make_member):
    make_member()
    make_member(consent=())
    plan = make_plan(control_percent=0)
    page = operator_client.get(f"/campaigns/{plan.pk}/launch/").content.decode()
    assert 'id="reach-audience">2<' in page
    assert '<td class="num reach-reachable">1</td>' in page and 'id="confirm-launch"' in page
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def test_confirming_launches_the_plan(operator_client, make_plan, make_member, django_capture_on_commit_callbacks):
    make_member()
    plan = make_plan()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(f"/campaigns/{plan.pk}/launch/")
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status != Plan.Status.DRAFT


def test_a_launched_plan_has_no_confirmation_but_a_message(operator_client, make_plan, launch):
    plan = launch(make_plan())
    response = operator_client.get(f"/campaigns/{plan.pk}/launch/", follow=True)
    assert response.redirect_chain[-1][0] == f"/campaigns/{plan.pk}/"
    assert "the plan is" in response.content.decode()


def test_an_analyst_cannot_open_the_launch_page(make_staff, make_plan):
    user = make_staff(roles.ANALYST, username="ana")
    client = Client()
    client.login(username=user.username, password=STAFF_PASSWORD)
    assert client.get(f"/campaigns/{make_plan().pk}/launch/").status_code == 403
