"""Campaign fixtures: a segment of everyone in 上海, templates, consenting customers, plans."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from rapport.campaigns import services
from rapport.campaigns.models import ContentTemplate, Plan
from rapport.customers.consent import set_consent
from rapport.customers.models import Customer
from rapport.segments import services as segment_services
from rapport.segments.models import Segment

SHANGHAI_RULE = {"all": [{"type": "profile", "field": "city", "op": "eq", "value": "上海"}]}
_counter = itertools.count(1)


@pytest.fixture
def shanghai(db: Any, system_actor: Any) -> Segment:
    return segment_services.save_segment(data={"name": "上海 customers", "rule": SHANGHAI_RULE}, actor=system_actor)


@pytest.fixture
def make_member(make_customer: Callable[..., Customer], system_actor: Any) -> Callable[..., Customer]:
    """A customer in 上海 with an email and a phone who granted marketing on the given channels."""

    def make(*, consent: tuple[str, ...] = ("email", "sms", "site", "call"), **data: Any) -> Customer:
        n = next(_counter)
        data.setdefault("city", "上海")
        data.setdefault("email", f"member{n}@example.com")
        data.setdefault("phone", f"139{n:08d}")
        customer = make_customer(**data)
        for channel in consent:
            set_consent(customer, channel=channel, purpose="marketing", granted=True, actor=system_actor)
        return customer

    return make


@pytest.fixture
def make_template(db: Any, system_actor: Any) -> Callable[..., ContentTemplate]:
    def make(channel: str = "email", **data: Any) -> ContentTemplate:
        data.setdefault("name", f"Template {next(_counter)}")
        data.setdefault("subject", "Hello {{ customer.name }}")
        data.setdefault("body", "Dear {{ customer.name }}, see https://shop.example.com/new")
        return services.save_template(data={"channel": channel, **data}, actor=system_actor)

    return make


@pytest.fixture
def make_plan(
    shanghai: Segment, system_actor: Any, make_template: Callable[..., ContentTemplate]
) -> Callable[..., Plan]:
    """A one-off email send to 上海 (steps and fields overridable)."""

    def make(**data: Any) -> Plan:
        if "steps" not in data:
            template = make_template()
            data["steps"] = [{"kind": "send", "config": {"channel": "email", "variants": [{"template": template.pk}]}}]
        data.setdefault("name", f"Plan {next(_counter)}")
        data.setdefault("segment", shanghai.pk)
        return services.save_plan(data=data, actor=system_actor)

    return make


@pytest.fixture
def launch(system_actor: Any, django_capture_on_commit_callbacks: Any) -> Callable[[Plan], Plan]:
    """Launch a plan and run the jobs it starts (they run after the commit, here at once)."""

    def run(plan: Plan) -> Plan:
        with django_capture_on_commit_callbacks(execute=True):
            services.launch_plan(plan, actor=system_actor)
        plan.refresh_from_db()
        return plan

    return run
