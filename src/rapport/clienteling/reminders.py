"""Care reminders and next best actions (关怀提醒): each morning every owner's list of their customers
to look after — birthdays (Gregorian or 农历), membership anniversaries, points expiring in a week,
coupons expiring in three days, an order the CLV model expected yesterday that did not come, a top or
high value customer whose last order was 60 days ago, a level that the review would lower in two
weeks if the customer bought nothing more. A complaint opened and a level lowered are put on the
list as they happen, as alerts (:mod:`rapport.clienteling.alerts`).

The daily job (Celery beat: ``rapport.clienteling.make_reminders``) finds each reason's customers
with one query, keeps those with an owner, and inserts in batches; the unique (customer, reason,
day) makes a second run add nothing. Each reminder has a suggested message (话术) in the viewer's
language; marking it done or snoozing it is all a salesperson does with it here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.analytics import queries as analytics_queries
from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.clienteling.birthdays import birthday_q
from rapport.clienteling.models import Reminder, ReminderReason, ReminderStatus
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, InvalidInput, NotFound
from rapport.customers.models import Customer
from rapport.loyalty import queries as loyalty_queries

BATCH = 2000
POINTS_DAYS_AHEAD = 7
COUPON_DAYS_AHEAD = 3
QUIET_DAYS = 60
LEVEL_DAYS_AHEAD = 14
MAX_SNOOZE_DAYS = 30


def _owned(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return customers.filter(owner__isnull=False, owner__is_active=True)


def _birthdays(day: dt.date) -> Iterable[tuple[int, int, str]]:
    for pk, owner_id, lunar in _owned(Customer.objects.filter(birthday_q(day))).values_list(
        "pk", "owner_id", "lunar_birthday"
    ):
        yield pk, owner_id, _("lunar (农历)") if lunar else ""


def _anniversaries(day: dt.date) -> Iterable[tuple[int, int, str]]:
    customers = Customer.objects.filter(
        registered_at__month=day.month, registered_at__day=day.day, registered_at__year__lt=day.year
    )
    for pk, owner_id, registered in _owned(customers).values_list("pk", "owner_id", "registered_at"):
        yield pk, owner_id, str(day.year - registered.year)


def _points(day: dt.date) -> Iterable[tuple[int, int, str]]:
    expiry = day + dt.timedelta(days=POINTS_DAYS_AHEAD)
    for pk, owner_id in _owned(loyalty_queries.customers_with_points_expiring_on(expiry)).values_list("pk", "owner_id"):
        yield pk, owner_id, expiry.isoformat()


def _coupons(day: dt.date) -> Iterable[tuple[int, int, str]]:
    expiry = day + dt.timedelta(days=COUPON_DAYS_AHEAD)
    holders = {customer_id for _coupon, customer_id in loyalty_queries.coupons_expiring_on(expiry)}
    for pk, owner_id in _owned(Customer.objects.filter(pk__in=holders)).values_list("pk", "owner_id"):
        yield pk, owner_id, expiry.isoformat()


def _next_order(day: dt.date) -> Iterable[tuple[int, int, str]]:
    expected = day - dt.timedelta(days=1)
    ids = analytics_queries.expected_to_order_on(expected).values("customer_id")
    # An order placed on the expected day moved the metrics on; one after it is the last order.
    customers = _owned(Customer.objects.filter(pk__in=ids)).exclude(metrics__last_order_at__date__gte=expected)
    for pk, owner_id in customers.values_list("pk", "owner_id"):
        yield pk, owner_id, expected.isoformat()


def _quiet(day: dt.date) -> Iterable[tuple[int, int, str]]:
    last = day - dt.timedelta(days=QUIET_DAYS)
    ids = analytics_queries.high_value_last_ordered_on(last).values("customer_id")
    for pk, owner_id in _owned(Customer.objects.filter(pk__in=ids)).values_list("pk", "owner_id"):
        yield pk, owner_id, last.isoformat()


def _level_drop(day: dt.date) -> Iterable[tuple[int, int, str]]:
    dropping = loyalty_queries.members_losing_their_level_on(
        day + dt.timedelta(days=LEVEL_DAYS_AHEAD), now=timezone.now()
    )
    for pk, owner_id in _owned(Customer.objects.filter(pk__in=list(dropping))).values_list("pk", "owner_id"):
        yield pk, owner_id, dropping[pk]


SOURCES: dict[str, Callable[[dt.date], Iterable[tuple[int, int, str]]]] = {
    ReminderReason.BIRTHDAY: _birthdays,
    ReminderReason.ANNIVERSARY: _anniversaries,
    ReminderReason.POINTS: _points,
    ReminderReason.COUPON: _coupons,
    ReminderReason.NEXT_ORDER: _next_order,
    ReminderReason.QUIET: _quiet,
    ReminderReason.LEVEL: _level_drop,
}


def make_reminders(day: dt.date) -> dict[str, int]:
    """Every owner's reminders for ``day``; how many were new per reason (a rerun adds none)."""
    made: dict[str, int] = {}
    now = timezone.now()
    for reason, source in SOURCES.items():
        created = 0
        batch: list[Reminder] = []
        for customer_id, owner_id, detail in source(day):
            batch.append(
                Reminder(
                    owner_id=owner_id,
                    customer_id=customer_id,
                    reason=reason,
                    day=day,
                    show_on=day,
                    detail=detail[:200],
                    created_at=now,
                )
            )
            if len(batch) >= BATCH:
                created += _insert(batch)
                batch = []
        made[reason] = created + _insert(batch)
    return made


def _insert(batch: list[Reminder]) -> int:
    """Insert, skipping those already made; answers how many are new (counted on the day's index)."""
    if not batch:
        return 0
    made_today = Reminder.objects.filter(day=batch[0].day, reason=batch[0].reason)
    with transaction.atomic():
        before = made_today.count()
        Reminder.objects.bulk_create(batch, ignore_conflicts=True)
        return made_today.count() - before


def todays_list(owner: Any, today: dt.date) -> QuerySet[Reminder]:
    """The owner's open reminders to show today: today's and earlier ones not done (up to a week)."""
    return (
        Reminder.objects.filter(owner=owner, status=ReminderStatus.OPEN, show_on__lte=today)
        .filter(Q(day__gte=today - dt.timedelta(days=7)) | Q(show_on=today))
        .select_related("customer")
        .order_by("show_on", "reason", "pk")
    )


def get_reminder(owner: Any, pk: int) -> Reminder:
    reminder = Reminder.objects.filter(owner=owner, pk=pk).select_related("customer").first()
    if reminder is None:
        raise NotFound.single("id", "not_found", _("No such reminder."))
    return reminder


@transaction.atomic
def mark_done(reminder: Reminder, *, actor: Actor) -> Reminder:
    locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if locked.status != ReminderStatus.OPEN:
        raise Conflict.single("status", "closed", _("This reminder is already done."))
    locked.status, locked.done_at = ReminderStatus.DONE, timezone.now()
    locked.save(update_fields=["status", "done_at"])
    record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"status": ["open", "done"]})
    return locked


@transaction.atomic
def snooze(reminder: Reminder, *, days: object, today: dt.date, actor: Actor) -> Reminder:
    """Show it again ``days`` (1 to 30) from today."""
    count = int(days) if isinstance(days, int | str) and str(days).isdigit() else 0
    if not 1 <= count <= MAX_SNOOZE_DAYS:
        raise InvalidInput.single("days", "out_of_range", _("Whole days from 1 to 30."))
    locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
    if locked.status != ReminderStatus.OPEN:
        raise Conflict.single("status", "closed", _("This reminder is already done."))
    locked.show_on = today + dt.timedelta(days=count)
    locked.save(update_fields=["show_on"])
    record(actor, AuditEntry.Action.UPDATE, obj=locked, changes={"show_on": locked.show_on.isoformat()})
    return locked


def suggested_message(reminder: Reminder) -> str:
    """The message (话术) a salesperson may send or say, in the viewer's language."""
    name = reminder.customer.name
    detail = reminder.detail
    texts = {
        ReminderReason.BIRTHDAY: _("Happy birthday, %(name)s! We have a small gift for you in store this week."),
        ReminderReason.ANNIVERSARY: _(
            "%(name)s, today you have been our member for %(detail)s years. Thank you — come by for a treat."
        ),
        ReminderReason.POINTS: _("%(name)s, some of your points expire on %(detail)s. Shall I help you use them?"),
        ReminderReason.COUPON: _("%(name)s, your coupon expires on %(detail)s. Would you like to use it this week?"),
        ReminderReason.NEXT_ORDER: _("%(name)s, how are you getting on? New pieces have arrived that you may like."),
        ReminderReason.QUIET: _("%(name)s, we have missed you! May I show you what is new this season?"),
        ReminderReason.LEVEL: _(
            "%(name)s, a little more shopping in the next two weeks keeps your %(detail)s level. Shall I help?"
        ),
        ReminderReason.COMPLAINT: _(
            "%(name)s, I saw your feedback (ticket %(detail)s). I am sorry, and I will help sort it out."
        ),
        ReminderReason.LEVEL_DROPPED: _(
            "%(name)s, your membership level has changed. May I show you how to get your benefits back?"
        ),
    }
    return texts[ReminderReason(reminder.reason)] % {"name": name, "detail": detail}
