"""The demo shop's campaigns: finished plans whose reports show real numbers.

Plans run through the real engine at past moments (entering, guards, A/B buckets, hold-out),
so suppressions follow the demo consents. Email and SMS are marked delivered as they would have
been; site messages and call tasks go through their adapters, so the portal inbox and the call
list have rows. Opens and clicks are drawn at realistic rates; conversions are not invented: the
report finds the demo orders that fell within each plan's attribution window.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings
from django.db.models import Q

from rapport.campaigns import services, starters
from rapport.campaigns.delivery import channels
from rapport.campaigns.journeys import engine
from rapport.campaigns.models import ContentTemplate, Enrollment, Message, Plan, SiteMessage
from rapport.commerce.models import CustomerStats
from rapport.customers.models import Customer
from rapport.demo.steps import DemoContext
from rapport.segments import services as segment_services

OPEN_RATE = {"email": 0.32, "sms": 0.0, "site": 0.55}
CLICK_RATE = {"email": 0.08, "sms": 0.05, "site": 0.12}

TEMPLATES: list[dict[str, str]] = [
    {
        "name": "Double 11 preview (A)",
        "channel": "email",
        "subject": "{{ customer.name }}, your Double 11 early access starts now",
        "body": "Hi {{ customer.name }},\n\nMembers shop Double 11 a day early: https://shop.example.com/d11\n"
        "{% if recommendation %}Picked for you:\n{% for p in recommendation %}- {{ p.name }} ¥{{ p.price }}\n"
        "{% endfor %}{% endif %}",
    },
    {
        "name": "Double 11 preview (B)",
        "channel": "email",
        "subject": "双11 抢先购 · Early access for members",
        "body": "{{ customer.name }}，双11会员抢先购已开启 / Early access is open: https://shop.example.com/d11",
    },
    {
        "name": "Birthday wishes (SMS)",
        "channel": "sms",
        "subject": "",
        "body": "{{ customer.name }}，生日快乐！A birthday treat waits in your account: https://shop.example.com/bday",
    },
    {
        "name": "We miss you (site)",
        "channel": "site",
        "subject": "It has been a while, {{ customer.name }}",
        "body": "New arrivals since your last visit{% if order %} (your last order was {{ order.number }})"
        "{% endif %}: https://shop.example.com/new",
    },
]


def _local(day: dt.date, hour: int) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(settings.RAPPORT_DEFAULT_TIME_ZONE)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)


def _mark_sent(plan: Plan, context: DemoContext, at: dt.datetime) -> dict[str, int]:
    """Email and SMS of the plan went out a few minutes after planning; some were opened and clicked."""
    rng = context.rng
    planned = list(
        Message.objects.filter(plan=plan, status=Message.Status.PLANNED, channel__in=["email", "sms"]).values_list(
            "pk", "channel"
        )
    )
    Message.objects.filter(pk__in=[pk for pk, _c in planned]).update(
        status=Message.Status.DELIVERED, sent_at=at + dt.timedelta(minutes=3), delivered_at=at + dt.timedelta(minutes=4)
    )
    return _engage(planned, rng, at)


def _engage(messages: list[tuple[int, str]], rng: Any, at: dt.datetime) -> dict[str, int]:
    opened = [pk for pk, channel in messages if rng.random() < OPEN_RATE.get(channel, 0)]
    clicked = [pk for pk, channel in messages if rng.random() < CLICK_RATE.get(channel, 0)]
    Message.objects.filter(pk__in=opened).update(opened_at=at + dt.timedelta(hours=2))
    Message.objects.filter(pk__in=clicked).update(
        opened_at=at + dt.timedelta(hours=2), clicked_at=at + dt.timedelta(hours=3)
    )
    return {"opened": len(opened), "clicked": len(clicked)}


def _finish(plan: Plan, at: dt.datetime, status: str = Plan.Status.COMPLETED) -> None:
    Plan.objects.filter(pk=plan.pk).update(
        status=status,
        launched_at=at,
        finished_at=at + dt.timedelta(days=1) if status == Plan.Status.COMPLETED else None,
    )


def seed_campaigns(context: DemoContext) -> dict[str, int]:
    actor = context.actor
    templates = {t["name"]: services.save_template(data=t, actor=actor) for t in TEMPLATES}
    # One email designed from blocks, so the block editor opens on something real.
    arrivals = starters.BY_KEY["new-arrivals-zh"]
    services.save_template(
        data={
            "name": "新品上架（设计邮件）",
            "channel": "email",
            "subject": arrivals.subject,
            "blocks": arrivals.blocks_for(None),
        },
        actor=actor,
    )
    members = segment_services.save_segment(
        data={
            "name": "Members (campaign demo)",
            "description": "Every customer with member status: the audience of the demo's sends.",
            "rule": {"type": "profile", "field": "member_status", "op": "eq", "value": "member"},
        },
        actor=actor,
    )
    counts = {"campaign_plans": 0, "campaign_messages": 0, "campaign_opens": 0, "campaign_clicks": 0}

    # 1. A one-off A/B email to all members, three weeks ago, with a 10% hold-out.
    launch = _local(context.end - dt.timedelta(days=21), 10)
    double11 = services.save_plan(
        data={
            "name": "Double 11 early access",
            "description": "Email A/B test: personalised picks (A) against a short bilingual note (B).",
            "kind": "one_off",
            "segment": members.pk,
            "control_percent": 10,
            "attribution_days": 7,
            "dedup_group": "double-11",
            "steps": [
                {
                    "kind": "send",
                    "config": {
                        "channel": "email",
                        "variants": [
                            {"key": "A", "template": templates["Double 11 preview (A)"].pk, "weight": 50},
                            {"key": "B", "template": templates["Double 11 preview (B)"].pk, "weight": 50},
                        ],
                    },
                }
            ],
        },
        actor=actor,
    )
    _run_at(double11, engine.members(members.rule, now=launch), "once", launch, context.rng)
    engaged = _mark_sent(double11, context, launch)
    _finish(double11, launch)

    # 2. The birthday journey, running: everyone whose birthday fell in the last four weeks.
    birthday = services.save_plan(
        data={
            "name": "Birthday wishes",
            "kind": "journey",
            "trigger": {"type": "birthday", "days_before": 0},
            "reentry": "every",
            "control_percent": 5,
            "attribution_days": 14,
            "steps": [
                {
                    "kind": "send",
                    "config": {"channel": "sms", "variants": [{"template": templates["Birthday wishes (SMS)"].pk}]},
                }
            ],
        },
        actor=actor,
    )
    Plan.objects.filter(pk=birthday.pk).update(status=Plan.Status.RUNNING)
    from rapport.campaigns.journeys.triggers import birthday_customers

    for days_ago in range(28, 0, -1):
        day = context.end - dt.timedelta(days=days_ago)
        at = _local(day, 10)
        _run_at(birthday, Customer.objects.filter(birthday_customers(day)), f"birthday:{day.year}", at, context.rng)
        for key, value in _mark_sent(birthday, context, at).items():
            engaged[key] += value
    _finish(birthday, _local(context.end - dt.timedelta(days=28), 10), Plan.Status.RUNNING)

    # 3. Win-back through the portal inbox: customers whose last order is 90–120 days old.
    sent_at = _local(context.end - dt.timedelta(days=10), 11)
    winback = services.save_plan(
        data={
            "name": "Win-back: 90 days quiet",
            "description": "A site message for customers who stopped buying three months ago.",
            "kind": "one_off",
            "segment": members.pk,
            "control_percent": 20,
            "attribution_days": 14,
            "steps": [
                {
                    "kind": "send",
                    "config": {"channel": "site", "variants": [{"template": templates["We miss you (site)"].pk}]},
                }
            ],
        },
        actor=actor,
    )
    quiet = CustomerStats.objects.filter(
        last_order_at__lte=sent_at - dt.timedelta(days=90), last_order_at__gt=sent_at - dt.timedelta(days=120)
    )
    lapsed = Customer.objects.filter(pk__in=quiet.values("customer_id"), member_status="member")
    _run_at(winback, lapsed, "once", sent_at, context.rng)
    site = list(Message.objects.filter(plan=winback, status=Message.Status.DELIVERED).values_list("pk", "channel"))
    for key, value in _engage(site, context.rng, sent_at).items():
        engaged[key] += value
    _finish(winback, sent_at)

    # 4. Service calls after big orders last week: call tasks for the customers' owners.
    calls = services.save_plan(
        data={
            "name": "VIP follow-up calls",
            "kind": "one_off",
            "segment": members.pk,
            "steps": [
                {
                    "kind": "task",
                    "config": {
                        "task_kind": "call",
                        "title": "订单回访",
                        "notes": "感谢客户的订单；询问收货情况，记下任何问题。",
                        "due_in_days": 2,
                        "assign": "owner",
                        "purpose": "service",
                    },
                }
            ],
        },
        actor=actor,
    )
    call_at = _local(context.end - dt.timedelta(days=2), 9)
    big_spenders = CustomerStats.objects.filter(
        Q(last_order_at__gte=call_at - dt.timedelta(days=7)), average_order_value__gte=600
    ).order_by("-net_spent")[:40]
    _run_at(calls, Customer.objects.filter(pk__in=big_spenders.values("customer_id")), "once", call_at, context.rng)
    _finish(calls, call_at, Plan.Status.RUNNING)

    counts["campaign_plans"] = 4
    counts["campaign_templates"] = ContentTemplate.objects.count()
    counts["campaign_messages"] = Message.objects.count()
    counts["campaign_opens"] = engaged["opened"]
    counts["campaign_clicks"] = engaged["clicked"]
    context.say(f"campaigns: {counts['campaign_messages']} messages in 4 plans")
    return counts


def _send(channel: str, template: ContentTemplate, *, purpose: str = "marketing") -> dict[str, Any]:
    return {"kind": "send", "config": {"channel": channel, "purpose": purpose, "variants": [{"template": template.pk}]}}


def _redraw(plan: Plan, at: dt.datetime, rng: Any) -> None:
    """The demo draws hold-out and A/B buckets from its seed, so the same seed makes the same shop."""
    rows = list(Enrollment.objects.filter(plan=plan, entered_at=at).order_by("customer_id"))
    control = plan.control_percent * Enrollment.BUCKETS // 100
    start = engine.first_step(plan)
    for row in rows:
        row.bucket = rng.randrange(Enrollment.BUCKETS)
        held = row.bucket < control
        row.state = Enrollment.State.HELD_OUT if held else Enrollment.State.ACTIVE
        row.step = None if held else start
    Enrollment.objects.bulk_update(rows, ["bucket", "state", "step"], batch_size=1000)


def _run_at(plan: Plan, customers: Any, entry_key: str, at: dt.datetime, rng: Any) -> None:
    """Enter and move the plan as the engine would have at ``at``; site sends go out."""
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.RUNNING)
    plan.refresh_from_db()
    engine.enroll(plan, customers, entry_key=entry_key, now=at)
    _redraw(plan, at, rng)
    engine.advance(plan, now=at)
    channels.deliver_due(now=at, channel="site", limit=100_000)
    SiteMessage.objects.filter(message__plan=plan).update(created_at=at)
    Enrollment.objects.filter(plan=plan, state=Enrollment.State.DONE, finished_at__isnull=True).update(finished_at=at)
