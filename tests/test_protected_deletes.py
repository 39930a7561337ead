"""Deleting a record that another domain's records point at answers 409 naming them, never a 500
(the API fuzzing found a segment that a campaign plan targets)."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.campaigns.models import Plan
from rapport.core.actor import Actor
from rapport.core.errors import Conflict
from rapport.segments import services as segments
from rapport.segments.models import Segment

pytestmark = pytest.mark.django_db
RULE = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": "上海"}]}


@pytest.fixture
def targeted_segment() -> Segment:
    segment = Segment.objects.create(name="Targeted", rule=RULE)
    Plan.objects.create(name="Spring send", segment=segment)
    return segment


def test_the_service_refuses_with_a_conflict_naming_the_plans(targeted_segment):
    with pytest.raises(Conflict) as caught:
        segments.delete_segment(targeted_segment, actor=Actor.system("test"))
    assert caught.value.errors[0].field == "id"
    assert caught.value.errors[0].code == "in_use"
    assert "plans" in caught.value.errors[0].message
    assert Segment.objects.filter(pk=targeted_segment.pk).exists()


def test_the_api_answers_409_and_keeps_the_segment(targeted_segment, make_staff, api_client_for):
    client = api_client_for(make_staff(roles.ADMIN))
    response = client.delete(f"/api/v1/segments/{targeted_segment.pk}")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "in_use"
    assert Segment.objects.filter(pk=targeted_segment.pk).exists()
