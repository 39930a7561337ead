"""Ticket subjects are encrypted at rest and still found by agents: by whole words, the start of a
word, Chinese characters, and the ticket number; the table holds no phone, email or name."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from rapport.core import pii
from rapport.core.actor import Actor
from rapport.service import services
from rapport.service.models import Ticket
from rapport.service.queries import subject_matches

pytestmark = pytest.mark.django_db
SUBJECT = "Refund for Wang Fang 13106350292 wang.fang@example.com 王芳退款申请"


def _raw_rows() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT subject, subject_search FROM service_ticket")
        return repr(cursor.fetchall())


def _found(query: str) -> list[str]:
    return list(Ticket.objects.filter(subject_matches(query)).values_list("subject", flat=True))


@pytest.fixture
def tickets(customer: Any, make_ticket: Any) -> tuple[Ticket, Ticket]:
    return make_ticket(customer, subject=SUBJECT), make_ticket(customer, subject="Parcel late 包裹延迟")


def test_the_subject_is_stored_encrypted_with_blind_tokens_and_reads_back(tickets: tuple[Ticket, Ticket]) -> None:
    raw = _raw_rows()
    for plain in ("Wang", "wang", "13106350292", "example.com", "王芳", "Refund", "refund", "退款", "Parcel"):
        assert plain not in raw
    assert Ticket.objects.get(pk=tickets[0].pk).subject == SUBJECT


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("refund", [SUBJECT]),
        ("REF", [SUBJECT]),  # the start of a word
        ("wang fang", [SUBJECT]),  # every word must be there
        ("退款", [SUBJECT]),
        ("王芳退款", [SUBJECT]),
        ("包裹", ["Parcel late 包裹延迟"]),
        ("裹", ["Parcel late 包裹延迟"]),  # one character
        ("13106350292", [SUBJECT]),
        ("fund", []),  # not the middle of a word
        ("refund parcel", []),
        ("退包", []),
        ("   ", []),
    ],
)
def test_agents_find_tickets_by_words_their_starts_and_chinese_characters(
    tickets: tuple[Ticket, Ticket], query: str, found: list[str]
) -> None:
    assert sorted(_found(query)) == sorted(found)


def test_the_inbox_search_and_a_changed_subject_use_the_tokens(
    tickets: tuple[Ticket, Ticket], agent: Any, system_actor: Actor
) -> None:
    client = Client()
    client.force_login(agent)
    page = client.get("/service/", {"view": "all", "q": "退款"}).content.decode()
    assert tickets[0].number in page and tickets[1].number not in page
    services.update_ticket(tickets[1], data={"subject": "Broken cup"}, actor=system_actor)
    assert _found("broken") == ["Broken cup"] and _found("parcel") == []


def test_search_tokens_are_keyed_and_hold_no_word() -> None:
    tokens = pii.search_tokens("Refund 退款")
    assert tokens.startswith(" ") and tokens.endswith(" ")
    assert "refund" not in tokens and "退" not in tokens
    assert all(token in tokens for token in pii.search_query_tokens("refu"))
    assert pii.search_tokens("") == "" and pii.search_query_tokens("!!") == []
