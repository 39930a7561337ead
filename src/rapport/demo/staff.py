"""The demo shop's staff: one login per role, all with the same published demo password."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from rapport.accounts import roles
from rapport.accounts.services import create_staff_user
from rapport.core.actor import Actor
from rapport.customers.models import Store

DEMO_PASSWORD = "rapport-demo"


@dataclass(frozen=True, slots=True)
class DemoStaff:
    username: str
    role: str
    display_name: str
    store: str | None = None  # store code, for store staff


DEMO_STAFF = [
    DemoStaff("admin", roles.ADMIN, "系统管理员 Admin"),
    DemoStaff("operator", roles.OPERATOR, "李娜 (运营 Operator)"),
    DemoStaff("service", roles.SERVICE_AGENT, "王芳 (客服 Service)"),
    DemoStaff("sales", roles.SALES, "张伟 (销售 Sales)"),
    DemoStaff("store", roles.STORE_STAFF, "刘洋 (店员 Store staff)", store="sh-flagship"),
    DemoStaff("analyst", roles.ANALYST, "陈静 (分析师 Analyst)"),
]
SALES_USERNAME = "sales"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: str
    store: str | None


def create_demo_staff(*, stores: dict[str, Store], actor: Actor) -> dict[str, User]:
    """Create the demo staff through the accounts service; a username already taken is kept as it is."""
    taken = set(User.objects.filter(username__in=[s.username for s in DEMO_STAFF]).values_list("username", flat=True))
    created = {}
    for staff in DEMO_STAFF:
        if staff.username in taken:
            continue
        created[staff.username] = create_staff_user(
            username=staff.username,
            password=DEMO_PASSWORD,
            role=staff.role,
            actor=actor,
            display_name=staff.display_name,
            store_id=stores[staff.store].pk if staff.store else None,
        )
    return created


def demo_logins() -> list[DemoLogin]:
    """The demo staff present in the database, in role order."""
    active = set(
        User.objects.filter(username__in=[s.username for s in DEMO_STAFF], is_active=True).values_list(
            "username", flat=True
        )
    )
    return [DemoLogin(s.username, DEMO_PASSWORD, s.role, s.store) for s in DEMO_STAFF if s.username in active]
