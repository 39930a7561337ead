"""Who gets a ticket: the first active assignment rule matching its category and store picks,
round-robin, among its available agents; without a matching rule, among all available agents.

Round-robin order is each agent's ``last_assigned_at``, taken under a row lock (in primary-key
order) so that two tickets arriving together go to two agents.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import F, Q

from rapport.service import clock
from rapport.service.models import AgentProfile, AssignmentRule, Ticket


def matching_rule(ticket: Ticket) -> AssignmentRule | None:
    rules = AssignmentRule.objects.filter(is_active=True).filter(
        Q(category="") | Q(category=ticket.category), Q(store__isnull=True) | Q(store_id=ticket.store_id)
    )
    return rules.order_by("position", "id").first()


def _pick(profiles: list[AgentProfile]) -> User | None:
    if not profiles:
        return None
    chosen = min(profiles, key=lambda p: (p.last_assigned_at is not None, p.last_assigned_at, p.pk))
    chosen.last_assigned_at = clock.now()
    chosen.save(update_fields=["last_assigned_at"])
    return chosen.user


def _available(extra: Q | None = None) -> list[AgentProfile]:
    profiles = AgentProfile.objects.filter(is_available=True, user__is_active=True)
    if extra is not None:
        profiles = profiles.filter(extra)
    return list(profiles.select_related("user").select_for_update(of=("self",)).order_by("pk"))


def choose_assignee(ticket: Ticket) -> User | None:
    """The next agent for a new ticket, or None when nobody is available (it stays unassigned)."""
    rule = matching_rule(ticket)
    if rule is not None:
        agent_ids = list(rule.agents.values_list("pk", flat=True))
        return _pick(_available(Q(user_id__in=agent_ids)))
    return _pick(_available())


def escalation_target(ticket: Ticket) -> User | None:
    """A breached ticket goes to an available team lead, else to the next available agent."""
    exclude = Q() if ticket.assignee_id is None else ~Q(user_id=ticket.assignee_id)
    leads = _available(Q(is_lead=True) & exclude)
    if leads:
        return _pick(leads)
    return _pick(_available(exclude)) or ticket.assignee


def agents() -> list[User]:
    """Staff who work tickets (have a service profile), for assignment lists."""
    return list(
        get_user_model().objects.filter(service_profile__isnull=False, is_active=True).order_by(F("username").asc())
    )
