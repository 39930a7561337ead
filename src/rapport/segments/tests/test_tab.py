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
    assert "Shanghai people" in page and "Beijing people" not in page
