"""The demo shop's customer service: agents and a lead, SLA policies and opening hours, canned
replies, the knowledge base in Chinese and English, and four months of tickets (zh and en) with
replies, SLA outcomes and satisfaction answers, derived from the customers and orders already
written. Rows are bulk-inserted; SLA deadlines use the same business-hours arithmetic as live
tickets.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from rapport.accounts import roles
from rapport.accounts.services import create_staff_user
from rapport.commerce.models import Order
from rapport.customers.models import Customer, Store
from rapport.demo.steps import DemoContext
from rapport.service import sla
from rapport.service.models import (
    AgentProfile,
    AssignmentRule,
    Category,
    MessageKind,
    Status,
    Survey,
    Ticket,
    TicketChannel,
    TicketEvent,
    TicketMessage,
)
from rapport.service.seed import seed_knowledge_base, seed_settings

DAYS = 120
TICKETS = 900
EXTRA_AGENTS = [("zhao.min", "赵敏 (客服)"), ("chen.jie", "陈杰 (客服)"), ("sun.li", "孙丽 (售后)")]


@dataclass(frozen=True)
class Script:
    category: str
    language: str
    subject: str
    body: str
    reply: str
    needs_order: bool = True


SCRIPTS = [
    Script(
        Category.AFTER_SALES,
        "zh",
        "订单{order}衣服尺码偏小，想换大一号",
        "收到的外套穿着偏小，吊牌还在，想换大一码，请问怎么操作？",
        "您好，可以为您免费换一次尺码：在“我的订单”中申请换货并选择大一码，收到退回商品后我们马上发出新尺码。",
    ),
    Script(
        Category.AFTER_SALES,
        "zh",
        "收到的商品破损 订单{order}",
        "快递盒被压坏了，里面的杯子碎了一只，已经拍照。",
        "非常抱歉！我们已为您安排补发，新商品24小时内寄出，无需寄回破损商品。",
    ),
    Script(
        Category.AFTER_SALES,
        "zh",
        "申请退货退款",
        "订单{order}的裤子不太喜欢，没穿过，想退货。退款多久到账？",
        "您好，已为您审核通过退货申请。仓库收到后1个工作日内退款，支付宝/微信一般即时到账。",
    ),
    Script(
        Category.AFTER_SALES,
        "en",
        "Wrong colour received (order {order})",
        "I ordered the navy sweater but received a black one. Can you swap it?",
        "Sorry about that! We've arranged the navy one to ship today; the courier will collect the black one.",
    ),
    Script(
        Category.AFTER_SALES,
        "en",
        "Return request for order {order}",
        "The shoes don't fit. They're unworn, tags attached. How do I send them back?",
        "No problem: open the order under My orders and choose Request a return; we'll refund you once it arrives.",
    ),
    Script(
        Category.COMPLAINT,
        "zh",
        "投诉：门店店员服务态度差",
        "昨天在门店试衣服，店员一直催促，还说不买就别试，体验很差。",
        "非常抱歉给您带来不好的体验，我们已将情况反馈给门店店长，并为您补偿一张优惠券。",
        needs_order=False,
    ),
    Script(
        Category.COMPLAINT,
        "zh",
        "投诉：快递一周还没到 订单{order}",
        "下单一个星期了物流一直不动，客服电话也打不通，太失望了。",
        "非常抱歉让您久等，我们已联系快递加急处理，并为您补偿100积分。",
    ),
    Script(
        Category.COMPLAINT,
        "en",
        "Complaint: parcel left outside in the rain",
        "The courier left my parcel outside and the box and the jacket inside got wet.",
        "We're very sorry. We've raised it with the courier and are sending you a replacement jacket.",
        needs_order=False,
    ),
    Script(
        Category.COMPLAINT,
        "en",
        "Charged twice for order {order}",
        "My card statement shows two payments for the same order. Please refund one.",
        "Apologies for the trouble. The duplicate charge has been refunded; it shows within 3 to 7 working days.",
    ),
    Script(
        Category.INQUIRY,
        "zh",
        "积分什么时候到账",
        "上周买的东西已经确认收货了，积分还没看到。",
        "您好，积分在确认收货7天后到账，请再耐心等待几天，到账后会有短信通知。",
        needs_order=False,
    ),
    Script(
        Category.INQUIRY,
        "zh",
        "怎么开发票",
        "公司报销需要增值税专用发票，订单{order}，请问在哪里申请？",
        "您好，确认收货后在“我的订单–申请发票”中选择专用发票并填写抬头和税号即可，1–3个工作日发到邮箱。",
    ),
    Script(
        Category.INQUIRY,
        "zh",
        "金卡会员怎么升级",
        "我今年买了不少，想知道离金卡还差多少。",
        "您好，最近12个月实付满6000元即可升级金卡，会员中心可查看升级进度。",
        needs_order=False,
    ),
    Script(
        Category.INQUIRY,
        "en",
        "When will order {order} ship?",
        "I paid yesterday but the order still says processing.",
        "Hi! Your order is being packed and ships today; you'll get a text with the tracking number.",
    ),
    Script(
        Category.INQUIRY,
        "en",
        "Do you have this coat in size XL?",
        "The grey wool coat shows sold out in XL online. Will it come back or is it in a store?",
        "Hi! XL is back in stock next week, and the Shanghai flagship store has one today.",
        needs_order=False,
    ),
    Script(
        Category.OTHER,
        "zh",
        "修改绑定手机号",
        "原来的手机号不用了，怎么换成新号码？",
        "您好，已核实您的身份并为您更换了手机号，之后请用新号码登录。",
        needs_order=False,
    ),
    Script(
        Category.OTHER,
        "en",
        "Please stop the marketing texts",
        "I get too many promotional SMS. Please stop them but keep order updates.",
        "Done: marketing texts are off for your number; you'll still receive order and delivery updates.",
        needs_order=False,
    ),
]
COMMENTS = {
    5: ["很满意，处理很快", "Very quick, thank you!", "客服很耐心"],
    4: ["还不错", "Good"],
    2: ["等太久了"],
    1: ["问题没解决"],
}


def _agents(context: DemoContext) -> list[User]:
    """The demo's service agent ("service"), three more agents, and the admin as team lead."""
    users = list(User.objects.filter(username="service"))
    for username, name in EXTRA_AGENTS:
        existing = User.objects.filter(username=username).first()
        users.append(
            existing
            or create_staff_user(
                username=username,
                password=secrets.token_urlsafe(24),  # no demo login: they only work the demo's tickets
                role=roles.SERVICE_AGENT,
                actor=context.actor,
                display_name=name,
            )
        )
    for user in users:
        AgentProfile.objects.get_or_create(user=user)
    admin = User.objects.filter(username="admin").first()
    if admin is not None:
        AgentProfile.objects.update_or_create(user=admin, defaults={"is_lead": True, "is_available": False})
    after_sales = AssignmentRule.objects.get_or_create(name="售后 After-sales", defaults={"category": "after_sales"})[0]
    after_sales.agents.set([u for u in users if u.username in ("sun.li", "service")])
    return users


def seed_service(context: DemoContext) -> dict[str, int]:
    rng = context.rng
    seed_settings(context.actor)
    articles = seed_knowledge_base(context.actor)
    agents = _agents(context)
    end = context.now  # tickets opened, answered and closed up to the moment the demo is loaded
    start = end - dt.timedelta(days=DAYS)
    # Drawn with the demo's seeded generator (never the database's random order), so a seed
    # always builds the same shop.
    recent_orders = list(
        Order.objects.filter(placed_at__gte=start - dt.timedelta(days=60), customer__isnull=False)
        .order_by("pk")
        .values_list("customer_id", "pk", "external_id", "store_id")
    )
    buyers = rng.sample(recent_orders, min(len(recent_orders), TICKETS * 2))
    customers = list(Customer.objects.order_by("pk").values_list("pk", "store_id"))
    others = rng.sample(customers, min(len(customers), TICKETS))
    if not buyers or not agents:
        return {"service tickets": 0, "knowledge-base articles": articles}
    hours_by_store: dict[int | None, sla.Hours] = {}
    targets = {p: sla.targets(p) for p in ("low", "normal", "high", "urgent")}
    rows: list[tuple[Ticket, Script, dict[str, Any]]] = []
    for n in range(TICKETS):
        script = rng.choice(SCRIPTS)
        if script.needs_order or rng.random() < 0.5:
            customer_id, order_id, order_number, store_id = buyers[n % len(buyers)]
        else:
            customer_id, store_id = others[n % len(others)]
            order_id, order_number = None, ""
        created = start + dt.timedelta(seconds=rng.uniform(0, DAYS * 86400))
        priority = rng.choices(["low", "normal", "high", "urgent"], [2, 6, 2, 1])[0]
        if script.category == Category.COMPLAINT and priority in ("low", "normal"):
            priority = "high"
        hours = hours_by_store.get(store_id)
        if hours is None:
            hours = hours_by_store[store_id] = sla.hours_for(_store(store_id))
        first_target, resolution_target, _warn = targets[priority]
        # Most answers come well within target; about one in eight is late, complaints more often.
        late = rng.random() < (0.22 if script.category == Category.COMPLAINT else 0.1)
        first_minutes = int(first_target * (rng.uniform(1.1, 2.5) if late else rng.uniform(0.05, 0.8)))
        resolve_minutes = int(resolution_target * (rng.uniform(1.05, 2.0) if late else rng.uniform(0.2, 0.9)))
        first_at = sla.add_business_minutes(created, first_minutes, hours)
        resolved_at = sla.add_business_minutes(created, max(resolve_minutes, first_minutes + 5), hours)
        status = Status.CLOSED if resolved_at + dt.timedelta(days=7) < end else Status.RESOLVED
        if resolved_at > end:
            status = rng.choice([Status.OPEN, Status.PENDING]) if first_at < end else Status.NEW
        first_due = sla.add_business_minutes(created, first_target, hours)
        resolution_due = sla.add_business_minutes(created, resolution_target, hours)
        ticket = Ticket(
            subject=script.subject.format(order=order_number or "")[:200].strip(),
            category=script.category,
            priority=priority,
            status=status,
            channel=rng.choices(
                [TicketChannel.EMAIL, TicketChannel.PORTAL, TicketChannel.CHAT, TicketChannel.CONSOLE], [4, 3, 2, 1]
            )[0],
            customer_id=customer_id,
            order_id=order_id,
            store_id=store_id,
            assignee=_assignee(rng, agents, script),
            created_at=created,
            updated_at=resolved_at if resolved_at <= end else first_at if first_at < end else created,
            first_response_at=first_at if first_at < end else None,
            resolved_at=resolved_at if status in (Status.RESOLVED, Status.CLOSED) else None,
            closed_at=resolved_at + dt.timedelta(days=7) if status == Status.CLOSED else None,
            first_response_due=first_due,
            resolution_due=resolution_due,
            paused_since=first_at if status == Status.PENDING else None,
            first_response_breached=first_due < min(first_at, end),
            resolution_breached=status != Status.PENDING and resolution_due < min(resolved_at, end),
        )
        rows.append((ticket, script, {"order_number": order_number}))
    rows.sort(key=lambda row: row[0].created_at)  # ticket numbers follow the order tickets came in
    tickets = Ticket.objects.bulk_create([t for t, _s, _e in rows], batch_size=500)
    messages, events, surveys = [], [], []
    for ticket, (_t, script, extra) in zip(tickets, rows, strict=True):
        body = script.body.format(order=extra["order_number"] or "")
        messages.append(
            TicketMessage(
                ticket=ticket, kind=MessageKind.CUSTOMER, body=body, author_label="", created_at=ticket.created_at
            )
        )
        events.append(
            TicketEvent(
                ticket=ticket,
                action="created",
                actor_label=ticket.channel,
                data={"channel": ticket.channel},
                at=ticket.created_at,
            )
        )
        if ticket.first_response_at is not None:
            messages.append(
                TicketMessage(
                    ticket=ticket,
                    kind=MessageKind.AGENT,
                    body=script.reply,
                    author=ticket.assignee,
                    author_label=ticket.assignee.get_username() if ticket.assignee else "service",
                    delivery=TicketMessage.Delivery.SENT,
                    delivery_detail=ticket.channel,
                    created_at=ticket.first_response_at,
                )
            )
        if ticket.resolved_at is not None:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    action="status",
                    actor_label="service",
                    data={"from": "pending", "to": "resolved"},
                    at=ticket.resolved_at,
                )
            )
            survey = Survey(ticket=ticket, agent=ticket.assignee, channel="email", sent_at=ticket.resolved_at)
            answered_at = ticket.resolved_at + dt.timedelta(hours=rng.uniform(0.5, 48))
            if rng.random() < 0.45 and answered_at <= end:
                survey.score = _score(rng, ticket)
                survey.comment = rng.choice(COMMENTS.get(survey.score, [""]))
                survey.answered_at = answered_at
            surveys.append(survey)
    names = dict(Customer.objects.filter(pk__in={t.customer_id for t in tickets}).values_list("pk", "name"))
    for message in messages:
        if message.kind == MessageKind.CUSTOMER:
            message.author_label = names.get(message.ticket.customer_id, "")
    TicketMessage.objects.bulk_create(messages, batch_size=1000)
    TicketEvent.objects.bulk_create(events, batch_size=1000)
    Survey.objects.bulk_create(surveys, batch_size=1000)
    context.say(f"service: {len(tickets)} tickets, {len(surveys)} surveys, {articles} articles")
    return {
        "service tickets": len(tickets),
        "service messages": len(messages),
        "satisfaction answers": sum(1 for s in surveys if s.score is not None),
        "knowledge-base articles": articles,
    }


def _store(store_id: int | None) -> Store | None:
    return Store.objects.filter(pk=store_id).first() if store_id else None


def _assignee(rng: Any, agents: list[User], script: Script) -> User:
    if script.category == Category.AFTER_SALES:
        pool = [a for a in agents if a.username in ("sun.li", "service")] or agents
        return rng.choice(pool)
    return rng.choice(agents)


def _score(rng: Any, ticket: Ticket) -> int:
    """Late answers and complaints score lower, as they do in real shops."""
    weights = [1, 1, 2, 5, 9]
    if ticket.first_response_breached or ticket.resolution_breached:
        weights = [3, 3, 3, 3, 3]
    if ticket.category == Category.COMPLAINT:
        weights = [w + bonus for w, bonus in zip(weights, [2, 2, 1, 0, -2], strict=True)]
    return int(rng.choices([1, 2, 3, 4, 5], [max(w, 1) for w in weights])[0])
