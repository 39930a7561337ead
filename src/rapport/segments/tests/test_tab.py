"""The 360 page lists the saved segments a customer is in."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.segments.services import save_segment

pytestmark = pytest.mark.django_db


def test_segments_tab_lists_the_customers_segments(client, make_staff, make_customer, system_actor):
    shanghai = make_customer(name="In Shanghai", city="上海")
    save_segment(
        data={"name": "Shanghai people", "rule": {"type": "profile", "field": "city", "op": "eq", "value": "上海"}},
        actor=system_actor,
    )
    save_segment(
        data={"name": "Beijing people", "rule": {"type": "profile", "field": "city", "op": "eq", "value": "北京"}},
        actor=system_actor,
    )
    client.force_login(make_staff(roles.OPERATOR))
    page = client.get(f"/customers/{shanghai.pk}/", {"tab": "segments"}).content.decode()
    member_of, not_in = page.split('class="why-not"')
    assert "Shanghai people" in member_of and "Beijing people" not in member_of
    assert "Beijing people" in not_in


def test_the_tab_says_why_with_each_condition_the_value_and_pass_or_fail(
    client, make_staff, make_customer, system_actor
):
    """Each condition in words, the customer's own value (a label, not a code) and ✓ or ✗."""
    shanghai = make_customer(name="In Shanghai", city="上海", gender="female")
    rule = {
        "all": [
            {"type": "profile", "field": "city", "op": "eq", "value": "上海"},
            {"not": {"type": "profile", "field": "gender", "op": "eq", "value": "male"}},
        ]
    }
    save_segment(data={"name": "Shanghai women", "rule": rule}, actor=system_actor)
    client.force_login(make_staff(roles.OPERATOR))
    page = client.get(f"/customers/{shanghai.pk}/", {"tab": "segments"}).content.decode()
    assert "Profile field: City is 上海" in page and "<strong>上海</strong>" in page
    assert "Profile field: Gender is Male" in page and "<strong>Female</strong>" in page
    assert page.count('class="why-condition pass"') == 1 and page.count('class="why-condition fail"') == 1
