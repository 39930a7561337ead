"""A tour of every console and portal page over a small demo shop, for tests that look at all pages.

The pages come from the URL configuration itself, so a page added later is visited without
anyone remembering to list it: every named pattern outside the API, the admin and the tracking
endpoints, less the views that only accept POST (actions, not pages). A pattern with arguments
needs a sample in :data:`SAMPLES` (an object of the demo shop to show); a new one without a sample
fails the tour with a message that says so. The 360 page is visited once per tab.

The demo shop is loaded once per test module (:func:`demo_site`), not once per page: a page
test only reads. The module's data is removed afterwards, as a transactional test would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

T = TypeVar("T")

SKIPPED_PREFIXES = ("admin/", "api/", "v1/", "i18n/")
DEMO_CUSTOMERS = 120
DEMO_END = dt.date(2026, 11, 30)


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    portal: bool
    arguments: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.name


def _only_posts(callback: Any) -> bool:
    """Whether a view answers nothing but POST (``require_POST`` anywhere in its decorators, or a
    class-based view without ``get``)."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return "get" not in view_class.http_method_names or not hasattr(view_class, "get")
    function = callback
    while function is not None:
        code = getattr(function, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars and function.__closure__:
            methods = function.__closure__[code.co_freevars.index("request_method_list")].cell_contents
            if "GET" not in methods:
                return True
        function = getattr(function, "__wrapped__", None)
    return False


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif pattern.name:
            yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}", pattern


def routes() -> list[Route]:
    """Every page a person can open, in URL order."""
    found: dict[str, Route] = {}
    for path, name, pattern in _walk(get_resolver().url_patterns):
        if path.startswith(SKIPPED_PREFIXES) or _only_posts(pattern.callback) or name in found:
            continue
        portal = path.startswith("portal/") or "/portal/" in path
        found[name] = Route(name, portal, tuple(pattern.pattern.converters))
    return list(found.values())


# Samples -----------------------------------------------------------------------------------------


def _first(model_path: str, **filters: Any) -> Any:
    from django.apps import apps

    model = apps.get_model(model_path)
    return model.objects.filter(**filters).order_by("pk").first()


def _pk(model_path: str, **filters: Any) -> Callable[[], dict[str, Any] | None]:
    def sample() -> dict[str, Any] | None:
        found = _first(model_path, **filters)
        return {"pk": found.pk} if found else None

    return sample


def _loyalty_config() -> dict[str, Any] | None:
    level = _first("loyalty.Level")
    return {"kind": "level", "pk": level.pk} if level else None


def _custom_field() -> dict[str, Any] | None:
    field = _first("customers.CustomFieldDefinition")
    return {"key": field.key} if field else None


def _survey() -> dict[str, Any] | None:
    from rapport.service.csat import survey_token

    survey = _first("service.Survey", answered_at__isnull=True)
    return {"token": survey_token(survey)} if survey else None


def _unsubscribe() -> dict[str, Any] | None:
    from rapport.campaigns.delivery.tracking import unsubscribe_url

    customer = _first("customers.Customer", email_index__isnull=False)
    return {"token": unsubscribe_url(customer.pk, "email").rstrip("/").rsplit("/", 1)[1]} if customer else None


def _member_message() -> dict[str, Any] | None:
    message = _first("campaigns.SiteMessage", customer_id=member().pk)
    return {"pk": message.pk} if message else None


def _member_ticket() -> dict[str, Any] | None:
    ticket = _first("service.Ticket", customer_id=member().pk)
    return {"pk": ticket.pk} if ticket else None


def _counter_visit() -> str:
    from rapport.counter.services import visit_token

    return visit_token(member().pk)


def _task() -> Any:
    """A task on the demo member (the demo shop has none): the page shows one."""
    from django.contrib.auth.models import User

    from rapport.clienteling.services import create_task
    from rapport.core.actor import Actor

    task = _first("clienteling.Task")
    if task is None:
        staff = User.objects.filter(is_superuser=True).order_by("pk").first()
        assert staff is not None, "the demo shop has an administrator"
        data = {"title": "回访", "kind": "call", "due_at": "2026-11-30T10:00:00+08:00", "assignee": staff.pk}
        task = create_task(member(), data, actor=Actor.system("tour"))
    return task


def _opportunity() -> dict[str, Any]:
    """An opportunity of the demo member (the demo shop has none): the page shows one."""
    from rapport.core.actor import Actor
    from rapport.opportunities.services import create_opportunity

    found = _first("opportunities.Opportunity")
    if found is None:
        data = {"title": "定制礼盒", "value": "8800.00", "currency": "CNY", "expected_close": "2026-12-20"}
        found = create_opportunity(member(), data, actor=Actor.system("tour"))
    return {"pk": found.pk}


def _privacy_request() -> dict[str, Any] | None:
    """An access request from the demo member (the demo shop has none): the page shows one."""
    from rapport.core.actor import Actor
    from rapport.privacy import services
    from rapport.privacy.models import DataSubjectRequest

    request = _first("privacy.DataSubjectRequest")
    if request is None:
        request = services.receive_request(customer=member(), kind="access", source="email", actor=Actor.system("tour"))
    assert isinstance(request, DataSubjectRequest)
    return {"request_id": request.pk}


SAMPLES: dict[str, Callable[[], dict[str, Any] | None]] = {
    "events:source_detail": _pk("events.Source"),
    "customers:store_edit": _pk("customers.Store"),
    "customers:custom_field_edit": _custom_field,
    "customers:detail": _pk("customers.Customer"),
    "customers:edit": _pk("customers.Customer"),
    "commerce:order_detail": _pk("commerce.Order"),
    "imports:detail": _pk("imports.ImportJob"),
    "tags:detail": _pk("tags.Tag"),
    "tags:batch_detail": _pk("tags.TagBatch"),
    "segments:detail": _pk("segments.Segment", is_template=False),
    "segments:edit": _pk("segments.Segment", is_template=False),
    "loyalty:config_new": lambda: {"kind": "level"},
    "loyalty:config_edit": _loyalty_config,
    "loyalty:coupon_template": _pk("loyalty.CouponTemplate"),
    "promotions:report": _pk("promotions.Promotion"),
    "promotions:edit": _pk("promotions.Promotion"),
    "campaigns:detail": _pk("campaigns.Plan"),
    "campaigns:edit": _pk("campaigns.Plan", status="draft"),
    "campaigns:canvas": _pk("campaigns.Plan"),
    "campaigns:launch": _pk("campaigns.Plan", status="draft"),
    "campaigns:template_edit": _pk("campaigns.ContentTemplate"),
    "campaigns:portal_message": _member_message,
    "service:ticket": _pk("service.Ticket"),
    "service:kb_edit": _pk("service.Article"),
    "service:canned_edit": _pk("service.CannedReply"),
    "service:report": lambda: {"category": "complaint"},
    "service:survey": _survey,
    "service:portal_ticket": _member_ticket,
    "service:portal_article": _pk("service.Article", state="published"),
    "campaigns:unsubscribe": _unsubscribe,
    "privacy:detail": _privacy_request,
    "counter:member": lambda: {"token": _counter_visit()},
    "clienteling:task": lambda: {"pk": _task().pk},
    "clienteling:new": lambda: {"customer_id": member().pk},
    "clienteling:contact": lambda: {"customer_id": member().pk},
    "opportunities:detail": _opportunity,
    "inventory:detail": _pk("inventory.StockItem"),
    # files, pixels and redirects, not pages: visited with a sample all the same, and passed over
    "service:attachment": _pk("service.Attachment"),
    "segments:export": _pk("segments.Segment"),
    "imports:report": _pk("imports.ImportJob"),
    "imports:progress": _pk("imports.ImportJob"),
    "campaigns:track_open": lambda: {"token": "0.x"},
    "campaigns:track_click": lambda: {"token": "0.x.x"},
    "shared_links:open": lambda: {"token": "x"},
    "privacy_portal:archive": lambda: {"token": "x"},
}


def member() -> Any:
    """The demo member the portal pages are shown to: one with orders, points and tickets."""
    from django.db.models import Count

    from rapport.customers.models import Customer

    return (
        Customer.objects.filter(member_status="member", phone_index__isnull=False)
        .annotate(ticket_count=Count("tickets", distinct=True))
        .order_by("-ticket_count", "pk")
        .first()
    )


@dataclass(frozen=True)
class Visit:
    url: str
    label: str


def visits(route: Route, *, tabs_of: Any = None) -> list[Visit]:
    """The URLs to open for a route (several for the 360 page: one per tab); [] when the demo shop
    has nothing to show there. A route with arguments and no sample fails."""
    kwargs: dict[str, Any] | None = {}
    if route.arguments:
        if route.name not in SAMPLES:
            arguments = ", ".join(route.arguments)
            pytest.fail(f"{route.name} takes {arguments}: add a sample to rapport.testing.tour.SAMPLES")
        kwargs = SAMPLES[route.name]()
        if kwargs is None:
            return []
    url = reverse(route.name, kwargs=kwargs)
    if route.name == "customers:detail" and tabs_of is not None:
        from rapport.console.tabs import customer_tabs

        return [Visit(f"{url}?tab={tab.key}", f"{route.name}?tab={tab.key}") for tab in customer_tabs(tabs_of)]
    return [Visit(url, route.name)]


def _fill_gaps() -> None:
    """What a shop in use has and the demo shop may not yet (each only when missing): an event
    source, tags (the built-in lifecycle template, applied from a Chinese console) and a draft
    plan, so that their pages are visited too."""
    from django.utils import translation

    from rapport.campaigns.models import ContentTemplate, Plan
    from rapport.campaigns.services import save_plan
    from rapport.core.actor import Actor
    from rapport.events.models import Source
    from rapport.events.services import create_source
    from rapport.segments.models import Segment
    from rapport.tags.models import Tag, TagTemplate
    from rapport.tags.services import apply_template

    actor = Actor.system("page tour")
    if not Source.objects.exists():
        create_source(data={"name": "官网 Web shop", "identity_channel": "web"}, actor=actor)
    if not Tag.objects.exists():
        with translation.override("zh-hans"):
            apply_template(TagTemplate.objects.get(key="lifecycle"), actor=actor)
    segment = Segment.objects.filter(is_template=False).order_by("pk").first()
    template = ContentTemplate.objects.filter(channel="site").order_by("pk").first()
    if segment and template and not Plan.objects.filter(status=Plan.Status.DRAFT).exists():
        step = {"kind": "send", "config": {"channel": "site", "variants": [{"template": template.pk}]}}
        draft = {"name": "春季焕新（草稿）", "kind": "one_off", "segment": segment.pk, "steps": [step]}
        save_plan(data=draft, actor=actor)


def _reset_sequences(connection: Any) -> None:
    """Ids go on after the rows put back (PostgreSQL's sequences restart at 1 on a flush)."""
    from django.apps import apps
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def kept_for_module(django_db_blocker: Any, load: Callable[[], T]) -> Iterator[T]:
    """What ``load`` writes, committed once for a module's tests (each test's own writes are rolled
    back as usual); afterwards the database is put back as it was (rows written by migrations
    included: the templates, the roles), the way Django's ``serialized_rollback`` does, for the
    tests that run after the module."""
    from django.core.management import call_command
    from django.db import connection
    from django.test import override_settings

    # background jobs inline, as in every test: a job thread would race the loader for the database
    with django_db_blocker.unblock(), override_settings(RAPPORT_JOBS_SYNC=True):
        before = connection.creation.serialize_db_to_string()
        try:
            yield load()
        finally:  # whatever happened here
            call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
            connection.creation.deserialize_db_from_string(before)
            _reset_sequences(connection)


def rolled_back_after_module(django_db_blocker: Any, load: Callable[[], T]) -> Iterator[T]:
    """What ``load`` writes, inside a transaction held open for a module's tests, as Django's
    ``setUpTestData`` does for a class: each test (``db``, not ``transactional_db``) runs in a
    savepoint of it, and the whole is rolled back after the module. Work a commit would start
    (``on_commit``) never runs, as for data a test writes itself; a live server, which reads
    committed rows only, needs :func:`kept_for_module` instead."""
    from django.db import transaction
    from django.test import override_settings

    with django_db_blocker.unblock(), override_settings(RAPPORT_JOBS_SYNC=True), transaction.atomic():
        try:
            yield load()
        finally:
            transaction.set_rollback(True)


def load_demo_site(django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The demo shop, filled out for a tour of every page, kept for a module's tests."""
    from rapport.demo.loader import seed_demo_shop
    from rapport.demo.staff import DEMO_PASSWORD

    def load() -> dict[str, Any]:
        seed_demo_shop(seed=1, customers=DEMO_CUSTOMERS, end=DEMO_END)
        _fill_gaps()
        return {"admin": "admin", "password": DEMO_PASSWORD}

    yield from kept_for_module(django_db_blocker, load)
