"""The privacy hooks of the apps that existed before the registry: one per domain.

Kept here, beside the registry, so that one file shows what an erasure does to each domain; a new
app registers its own hook from its ``AppConfig.ready()`` (see :mod:`rapport.privacy.registry`).
What stays: orders and their lines, loyalty accounts, ledgers, coupons and cards, statistics and
metrics, campaign message rows (their counts), ticket rows (their SLA figures) — all still pointing
at the anonymised customer, so every money and count figure is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from rapport.campaigns.models import Bounce, EmailSuppression, Enrollment, Message, SiteMessage
from rapport.commerce.models import CustomerStats, Order, OrderLine
from rapport.core import shredding
from rapport.customers.merge import register_merge_hook
from rapport.customers.models import (
    Address,
    ChangeRecord,
    Consent,
    ConsentRecord,
    Customer,
    CustomerMerge,
    Identity,
    MemberStatus,
    MergedCustomer,
    MergeSuggestion,
    Note,
)
from rapport.events.models import AnonymousVisitor, Event, StagedMessage
from rapport.events.personal import unseal_object
from rapport.loyalty.models import Account, BenefitCard, Coupon, Entry, LevelChange, Membership, Redemption
from rapport.portal.models import MemberSession, SignInCode
from rapport.privacy.models import DataSubjectRequest
from rapport.privacy.registry import Erasure, PrivacyHook, Rows, register_privacy_hook, rows, stream
from rapport.service.models import (
    Attachment,
    BotConversation,
    BotQuestion,
    InboundMail,
    Status,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from rapport.tags.models import CustomerTag

_INDEXES = ("phone_index", "email_index", "id_number_index", "name_key", "place_index")


# customers ------------------------------------------------------------------------------------


def export_customers(customer: Customer) -> Rows:
    return {
        "profile": rows(Customer.objects.filter(pk=customer.pk), omit=_INDEXES),
        "identities": rows(Identity.objects.filter(customer=customer), omit=("external_index",)),
        "addresses": rows(Address.objects.filter(customer=customer), omit=_INDEXES),
        "notes": rows(Note.objects.filter(customer=customer)),
        "profile_changes": rows(ChangeRecord.objects.filter(customer=customer)),
        "consents": rows(Consent.objects.filter(customer=customer)),
        "consent_history": rows(ConsentRecord.objects.filter(customer=customer)),
        "merges": rows(CustomerMerge.objects.filter(survivor=customer)),
        "merged_ids": rows(MergedCustomer.objects.filter(survivor=customer)),
    }


def erase_customers(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Blank the profile; identities become tombstones (written by the service), the rest goes."""
    customer.name = f"#{customer.pk}"
    customer.gender = ""
    customer.birthday = None
    customer.phone = customer.email = customer.id_number = ""
    customer.phone_index = customer.email_index = customer.id_number_index = None
    customer.city = ""
    customer.custom_fields = {}
    customer.owner = None
    customer.member_status = MemberStatus.INACTIVE
    customer.save()
    return {
        "identities": Identity.objects.filter(customer=customer).delete()[0],
        "addresses": Address.objects.filter(customer=customer).delete()[0],
        "notes": Note.objects.filter(customer=customer).delete()[0],
        # the history keeps which field changed, when and by whom; the values go: sealed ones with
        # the customer's key (shredded at the end of the erasure), older plaintext ones blanked
        "profile_changes": _unreadable_changes(customer),
        "consents": Consent.objects.filter(customer=customer).delete()[0],
        "consent_history": ConsentRecord.objects.filter(customer=customer).update(evidence=""),
        "merges": CustomerMerge.objects.filter(survivor=customer).update(merged_name=""),
        "merge_suggestions": MergeSuggestion.objects.filter(Q(first=customer) | Q(second=customer)).delete()[0],
    }


# commerce -------------------------------------------------------------------------------------


def export_commerce(customer: Customer) -> Rows:
    return {
        "orders": rows(Order.objects.filter(customer=customer)),
        "order_lines": rows(OrderLine.objects.filter(order__customer=customer)),
        "statistics": rows(CustomerStats.objects.filter(customer=customer)),
    }


def erase_commerce(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Orders are kept (tax law) without where they were sent; they now belong to no one known."""
    orders = Order.objects.filter(customer=customer).exclude(shipping_address="")
    return {"shipping_addresses": orders.update(shipping_address="")}


# events ---------------------------------------------------------------------------------------


def _event_sets(customer: Customer, erasure: Erasure, visitors: list[str]) -> list[Q]:
    """The person's events, as conditions that each use one index (an OR of them would scan)."""
    sets = [Q(customer=customer)]
    user_ids = [external_id for _channel, external_id in erasure.identities]
    if user_ids:  # stored before the id was known, or never linked
        sets.append(Q(user_id__in=user_ids, customer__isnull=True))
    if visitors:
        sets.append(Q(anonymous_id__in=visitors, customer__isnull=True))
    return sets


def _unreadable_changes(customer: Customer) -> int:
    changes = ChangeRecord.objects.filter(customer=customer)
    plain = ~Q(old_value__startswith=shredding.PREFIX) & ~Q(new_value__startswith=shredding.PREFIX)
    changes.filter(plain).update(old_value="", new_value="")
    return changes.count()


def _events(customer: Customer) -> Iterator[dict[str, Any]]:
    for event in stream(Event.objects.filter(customer=customer), omit=("source",)):
        # the person gets their own values back, not the sealed form
        event["properties"] = unseal_object(event["properties"])
        event["traits"] = unseal_object(event["traits"])
        yield event


def export_events(customer: Customer) -> Rows:
    return {
        "events": _events(customer),  # read as the archive is written: any number of them
        "devices": rows(AnonymousVisitor.objects.filter(customer=customer)),
    }


def erase_events(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Events stay (counts, funnels) with their properties, traits and context (IP, user agent)
    gone; staged messages still waiting for resolution go; devices are forgotten."""
    visitors = list(AnonymousVisitor.objects.filter(customer=customer).values_list("anonymous_id", flat=True))
    events = sum(
        Event.objects.filter(condition).update(properties={}, traits={}, context={}, user_id="", anonymous_id="")
        for condition in _event_sets(customer, erasure, visitors)
    )
    user_ids = [external_id for _channel, external_id in erasure.identities]
    staged = StagedMessage.objects.filter(
        Q(user_id__in=user_ids) | Q(anonymous_id__in=visitors) | Q(previous_id__in=user_ids + visitors)
    ).delete()[0]
    return {
        "events": events,
        "staged_messages": staged,
        "devices": AnonymousVisitor.objects.filter(customer=customer).delete()[0],
    }


# tags -----------------------------------------------------------------------------------------


def export_tags(customer: Customer) -> Rows:
    return {
        "tags": [
            {"tag": link.tag.name, "added_at": link.added_at.isoformat(), "source": link.source}
            for link in CustomerTag.objects.filter(customer=customer).select_related("tag")
        ]
    }


def erase_tags(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Tags are a profile of the person: they go (receivers hear of the erasure as one event)."""
    return {"tags": CustomerTag.objects.filter(customer=customer).delete()[0]}


# analytics ------------------------------------------------------------------------------------


def export_analytics(customer: Customer) -> Rows:
    from rapport.analytics.models import CustomerMetrics

    return {"metrics": rows(CustomerMetrics.objects.filter(customer=customer))}


def erase_analytics(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Figures derived from orders, which stay: kept, so totals by segment do not move."""
    return {}


# loyalty --------------------------------------------------------------------------------------


def export_loyalty(customer: Customer) -> Rows:
    return {
        "accounts": rows(Account.objects.filter(customer=customer)),
        "ledger": rows(Entry.objects.filter(account__customer=customer)),
        "membership": rows(Membership.objects.filter(customer=customer)),
        "level_changes": rows(LevelChange.objects.filter(customer=customer)),
        "benefit_cards": rows(BenefitCard.objects.filter(customer=customer)),
        "coupons": rows(Coupon.objects.filter(customer=customer)),
        "redemptions": rows(Redemption.objects.filter(customer=customer)),
    }


def erase_loyalty(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Points, stored value, coupons and cards are liabilities in the books: they stay."""
    return {"level_change_notes": LevelChange.objects.filter(customer=customer).exclude(note="").update(note="")}


# campaigns ------------------------------------------------------------------------------------


def export_campaigns(customer: Customer) -> Rows:
    return {
        "journeys": rows(Enrollment.objects.filter(customer=customer)),
        "messages": rows(Message.objects.filter(customer=customer)),
        "site_messages": rows(SiteMessage.objects.filter(customer=customer)),
        "bounces": rows(Bounce.objects.filter(customer=customer), omit=("address_index",)),
        "suppressions": rows(EmailSuppression.objects.filter(customer=customer), omit=("address_index",)),
    }


def erase_campaigns(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Message rows stay for the campaigns' counts; their texts go and nothing more is sent."""
    return {
        "journeys": Enrollment.objects.filter(customer=customer).update(context={}),
        "journeys_stopped": Enrollment.objects.filter(
            customer=customer, state__in=[Enrollment.State.ACTIVE, Enrollment.State.WAITING]
        ).update(state=Enrollment.State.EXITED),
        "messages_not_sent": Message.objects.filter(customer=customer, status=Message.Status.PLANNED).update(
            status=Message.Status.SUPPRESSED, reason=Message.Reason.NO_CONSENT
        ),
        "site_messages": SiteMessage.objects.filter(customer=customer).update(title="", body=""),
        "bounces": Bounce.objects.filter(customer=customer).update(diagnostic=""),
        "suppressions": EmailSuppression.objects.filter(customer=customer).update(evidence=""),
    }


# service --------------------------------------------------------------------------------------


def export_service(customer: Customer) -> Rows:
    return {
        "tickets": rows(Ticket.objects.filter(customer=customer)),
        "ticket_messages": rows(TicketMessage.objects.filter(ticket__customer=customer)),
        # the history keeps the old and new subject of every change (sealed, opened here)
        "ticket_history": rows(TicketEvent.objects.filter(ticket__customer=customer), omit=("actor",)),
        "attachments": rows(Attachment.objects.filter(message__ticket__customer=customer)),
        "bot_conversations": rows(BotConversation.objects.filter(customer=customer)),
    }


def erase_service(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """Tickets stay for the service figures (counts, SLA), emptied; open ones are closed."""
    tickets = Ticket.objects.filter(customer=customer)
    return {
        "tickets_closed": tickets.exclude(status=Status.CLOSED).update(status=Status.CLOSED),
        "tickets": tickets.update(subject="", subject_search="", reply_to=""),
        "ticket_messages": TicketMessage.objects.filter(ticket__customer=customer).update(
            body="", delivery_address=None
        ),
        "ticket_message_authors": TicketMessage.objects.filter(ticket__customer=customer, author=None).update(
            author_label=""
        ),
        "ticket_events": TicketEvent.objects.filter(ticket__customer=customer).update(data={}),
        "attachments": Attachment.objects.filter(message__ticket__customer=customer).delete()[0],
        "inbound_mail": InboundMail.objects.filter(ticket__customer=customer).update(raw=b"", sender="", subject=""),
        "bot_conversations": BotConversation.objects.filter(customer=customer).update(transcript=[]),
        # the questions the bot's review page groups: the transcript's words, kept apart
        "bot_questions": BotQuestion.objects.filter(conversation__customer=customer).delete()[0],
    }


# portal ---------------------------------------------------------------------------------------


def export_portal(customer: Customer) -> Rows:
    return {
        "portal_sessions": rows(MemberSession.objects.filter(customer=customer), omit=("token_hash",)),
        "portal_sign_in_codes": rows(
            SignInCode.objects.filter(customer=customer), omit=("code_hash", "identifier_hash")
        ),
    }


def erase_portal(customer: Customer, erasure: Erasure) -> dict[str, int]:
    return {
        "portal_sessions": MemberSession.objects.filter(customer=customer).delete()[0],
        "portal_sign_in_codes": SignInCode.objects.filter(customer=customer).delete()[0],
    }


# privacy --------------------------------------------------------------------------------------


def export_privacy(customer: Customer) -> Rows:
    from rapport.audit.models import AuditEntry
    from rapport.privacy.services import audited_objects

    return {
        "requests": rows(
            DataSubjectRequest.objects.filter(customer=customer), omit=("archive_file", "outcome", "verification_note")
        ),
        # who changed or looked at the person's data, and when
        "audit": rows(AuditEntry.objects.filter(audited_objects([customer.pk])), omit=("actor",)),
    }


def erase_privacy(customer: Customer, erasure: Erasure) -> dict[str, int]:
    """The requests are the record that the erasure happened: kept, their archives dropped."""
    from rapport.privacy.services import drop_archives

    return {"archives": drop_archives(DataSubjectRequest.objects.filter(customer=customer))}


def move_requests(survivor: Customer, merged: Customer) -> int:
    """Merge hook: the merged customer's requests (open or done) are now the survivor's record."""
    return DataSubjectRequest.objects.filter(customer=merged).update(customer=survivor)


def register() -> None:
    register_merge_hook("privacy_requests", move_requests)
    hooks: list[tuple[str, tuple[str, ...], Any, Any]] = [
        (
            "customers",
            (
                "customers.Identity",
                "customers.Address",
                "customers.Note",
                "customers.ChangeRecord",
                "customers.CustomerMerge",
                "customers.MergedCustomer",
                "customers.MergeSuggestion",
                "customers.Consent",
                "customers.ConsentRecord",
            ),
            export_customers,
            erase_customers,
        ),
        ("commerce", ("commerce.Order", "commerce.CustomerStats"), export_commerce, erase_commerce),
        ("events", ("events.Event", "events.AnonymousVisitor"), export_events, erase_events),
        ("tags", ("tags.CustomerTag",), export_tags, erase_tags),
        ("analytics", ("analytics.CustomerMetrics",), export_analytics, erase_analytics),
        (
            "loyalty",
            (
                "loyalty.Account",
                "loyalty.Membership",
                "loyalty.LevelChange",
                "loyalty.BenefitCard",
                "loyalty.Coupon",
                "loyalty.Redemption",
            ),
            export_loyalty,
            erase_loyalty,
        ),
        (
            "campaigns",
            (
                "campaigns.Enrollment",
                "campaigns.Message",
                "campaigns.SiteMessage",
                "campaigns.Bounce",
                "campaigns.EmailSuppression",
            ),
            export_campaigns,
            erase_campaigns,
        ),
        ("service", ("service.Ticket", "service.BotConversation"), export_service, erase_service),
        ("portal", ("portal.SignInCode", "portal.MemberSession"), export_portal, erase_portal),
        ("privacy", ("privacy.DataSubjectRequest",), export_privacy, erase_privacy),
    ]
    for name, covers, export, erase in hooks:
        register_privacy_hook(PrivacyHook(name, covers, export, erase))
