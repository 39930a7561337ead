"""Satisfaction surveys (CSAT): one question, "how did we do? 1–5", sent once per ticket when the
conversation ends (resolved, or closed straight away), through the customer's channel, in the
customer's language, from the support address, with a signed link that needs no sign-in.
"""

from __future__ import annotations

import datetime as dt
import html
import logging

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from rapport.campaigns.delivery import send_transactional
from rapport.core.errors import Conflict, InvalidInput, NotFound
from rapport.core.public_url import public_url
from rapport.customers.consent import has_consent
from rapport.service import clock
from rapport.service.models import Status, Survey, Ticket

logger = logging.getLogger(__name__)

SALT = "rapport.service.csat"
VALID_FOR = dt.timedelta(days=30)


def survey_token(survey: Survey) -> str:
    return signing.dumps({"survey": survey.pk}, salt=SALT, compress=True)


def survey_url(survey: Survey) -> str:
    return f"{public_url()}/service/survey/{survey_token(survey)}/"


def survey_from_token(token: str) -> Survey:
    try:
        data = signing.loads(token, salt=SALT, max_age=VALID_FOR)
    except signing.SignatureExpired as exc:
        raise InvalidInput.single("token", "expired", "this survey link has expired") from exc
    except signing.BadSignature as exc:
        raise NotFound.single("token", "invalid", "this survey link is not valid") from exc
    survey = Survey.objects.select_related("ticket__customer").filter(pk=data.get("survey")).first()
    if survey is None:
        raise NotFound.single("token", "invalid", "this survey link is not valid")
    return survey


# Time zones of mainland China: a store there writes to its customers in Simplified Chinese.
SIMPLIFIED_CHINESE_ZONES = frozenset(
    {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi", "Asia/Kashgar", "PRC"}
)


def customer_language(ticket: Ticket) -> str:
    """The language to write to the customer in: their store's (the ticket's store, else the
    customer's), Simplified Chinese for a store in mainland China; the installation's language
    (``RAPPORT_LANGUAGE``) for a customer without a store."""
    store = ticket.store or ticket.customer.store
    if store is not None and store.time_zone in SIMPLIFIED_CHINESE_ZONES:
        return "zh-hans"
    return settings.LANGUAGE_CODE


def send_survey(ticket: Ticket) -> Survey | None:
    """Create and send the ticket's survey unless it already has one or the customer said no to service messages."""
    ticket = Ticket.objects.select_related("customer__store", "store").get(pk=ticket.pk)
    customer = ticket.customer
    channel = "email" if (ticket.reply_to or customer.email) else "sms"
    if not has_consent(customer.pk, channel, "service"):
        return None
    try:
        with transaction.atomic():
            survey = Survey.objects.create(ticket=ticket, agent=ticket.assignee, channel=channel, sent_at=clock.now())
    except IntegrityError:  # already surveyed (resolved, reopened, resolved again; resolved then closed)
        return None
    url = survey_url(survey)
    with translation.override(customer_language(ticket)):
        words = {"number": ticket.number, "subject": ticket.subject, "url": url}
        if ticket.status == Status.CLOSED:
            body = (
                _(
                    "Your request %(number)s (%(subject)s) is closed. How did we do? "
                    "One click, from 1 (poor) to 5 (excellent): %(url)s"
                )
                % words
            )
        else:
            body = (
                _(
                    "Your request %(number)s (%(subject)s) is resolved. How did we do? "
                    "One click, from 1 (poor) to 5 (excellent): %(url)s"
                )
                % words
            )
        subject = _("How did we do? %(number)s") % {"number": ticket.number}
    markup = html.escape(body).replace(html.escape(url), f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
    try:
        send_transactional(
            customer,
            channel=channel,
            purpose="service",
            subject=subject,
            body=body,
            html=f"<p>{markup}</p>",
            to=ticket.reply_to if channel == "email" else "",
            reference=f"csat-{ticket.number}",
            sender=settings.RAPPORT_SERVICE_ADDRESS,
            reply_to=settings.RAPPORT_SERVICE_ADDRESS,
        )
    except Exception:  # the survey stays; a failed send is logged, not raised to the agent
        logger.exception("survey for %s could not be sent", ticket.number)
    return survey


@transaction.atomic
def answer_survey(survey: Survey, *, score: object, comment: object = "") -> Survey:
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidInput.single("score", "invalid", "a score from 1 to 5")
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput.single("comment", "invalid", "expected text")
    text = (comment or "").strip()
    if len(text) > 1000:
        raise InvalidInput.single("comment", "too_long", "at most 1000 characters")
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.answered_at is not None:
        raise Conflict.single("token", "answered", "this survey was already answered, thank you")
    survey.score = score
    survey.comment = text
    survey.answered_at = clock.now()
    survey.save()
    return survey
