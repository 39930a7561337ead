"""Portraits: each dimension is one GROUP BY over the members, with the right buckets."""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.segments import services
from rapport.segments.portrait import Bucket, Dimension, dimensions, portrait, register_dimension

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def _dist(distributions, key):
    return {b.key: b.count for b in next(d for d in distributions if d.key == key).buckets}


def test_portrait_of_a_segment(shanghai, shop):
    result = portrait(services.segment_members(shanghai), now=NOW)
    assert _dist(result, "gender") == {"female": 1, "": 1}
    age = _dist(result, "age")
    assert (age["35–44"], age["unknown"], age["18–24"]) == (1, 1, 0)
    assert _dist(result, "city") == {"上海": 2}
    assert _dist(result, "store") == {"sh-01": 1, "": 1}
    assert _dist(result, "orders") == {"0": 1, "1": 0, "2–3": 1, "4–9": 0, "10+": 0}
    assert _dist(result, "categories") == {"tea": 1}
    assert sum(_dist(result, "member_status").values()) == 2


def test_each_dimension_is_one_query(shanghai, django_assert_num_queries):
    members = services.segment_members(shanghai)
    with django_assert_num_queries(len(dimensions())):
        portrait(members, now=NOW)


def test_cities_beyond_the_top_ten_are_grouped(make_customer, system_actor):
    for i in range(12):
        make_customer(name=f"P{i}", city=f"City {i:02d}")
    rule = {"type": "profile", "field": "city", "op": "is_set"}
    city = next(d for d in portrait(services.segment_members(rule), only=["city"]))
    assert len(city.buckets) == 11
    assert city.buckets[-1].key == "__other__" and city.buckets[-1].count == 2


def test_apps_can_register_a_dimension(shanghai):
    register_dimension(Dimension("test_level", "Level", lambda members, now: [Bucket("x", "X", members.count())]))
    try:
        assert _dist(portrait(services.segment_members(shanghai), only=["test_level"]), "test_level") == {"x": 2}
    finally:
        from rapport.segments import portrait as module

        module._DIMENSIONS.pop("test_level")
