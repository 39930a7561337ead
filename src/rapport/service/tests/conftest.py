"""Service fixtures: agents with profiles, customers who write in, tickets opened through the services,
a clock the tests move by hand, and mail sent to Django's in-memory outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rapport.accounts import roles
from rapport.core.actor import Actor, Source
from rapport.customers.models import Customer
from rapport.service import clock, services
from rapport.service.models import Ticket


class Clock:
    """A controllable "now" for the service domain (and for Django's auto timestamps it does not touch)."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def set(self, when: dt.datetime) -> None:
        self.current = when

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Monday 2026-03-02 10:00 in Shanghai (02:00 UTC)."""
    fake = Clock(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))
    monkeypatch.setattr(clock, "now", fake)
    yield fake


@pytest.fixture(autouse=True)
def _locmem_mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RAPPORT_SERVICE_ADDRESS = "support@shop.example"


@pytest.fixture
def make_agent(make_staff: Callable[..., Any], system_actor: Actor) -> Callable[..., Any]:
    def make(username: str, *, is_lead: bool = False, is_available: bool = True, email: str = "") -> Any:
        user = make_staff(roles.SERVICE_AGENT, username=username)
        if email:
            user.email = email
            user.save(update_fields=["email"])
        services.set_agent(user, is_available=is_available, is_lead=is_lead, actor=system_actor)
        return user

    return make


@pytest.fixture
def agent(make_agent: Callable[..., Any]) -> Any:
    return make_agent("li.na", email="li.na@shop.example")


@pytest.fixture
def agent_actor(agent: Any) -> Actor:
    return Actor(user=agent, source=Source.CONSOLE)


@pytest.fixture
def customer(make_customer: Callable[..., Customer]) -> Customer:
    return make_customer(name="王芳", email="wang.fang@example.cn", phone="13812345678")


@pytest.fixture
def make_ticket(system_actor: Actor) -> Callable[..., Ticket]:
    def make(customer: Customer, **options: Any) -> Ticket:
        options.setdefault("channel", "api")
        options.setdefault("subject", "我的订单还没发货")
        options.setdefault("body", "下单三天了还没有发货，请帮忙查一下。")
        return services.open_ticket(customer=customer, actor=system_actor, **options)

    return make


@pytest.fixture
def member_client(client: Any) -> Callable[[Customer], Any]:
    """A test client signed in to the member portal as ``customer``."""
    from django.http import HttpResponse

    from rapport.portal.auth import start_session

    def sign_in(customer: Customer) -> Any:
        response = HttpResponse()
        start_session(response, customer)
        for name, morsel in response.cookies.items():
            client.cookies[name] = morsel.value
        return client

    return sign_in


@pytest.fixture
def seeded_kb(db: Any, system_actor: Actor) -> None:
    """The demo shop's knowledge base (Chinese and English articles, published)."""
    from rapport.service.seed import seed_knowledge_base

    seed_knowledge_base(system_actor)
