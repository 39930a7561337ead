"""What console views share about a request: who acts, and a domain error as one line of text.

One definition each, so that every page records the same actor and words refusals the same way.
"""

from __future__ import annotations

from django.http import HttpRequest

from rapport.core.actor import Actor, Source
from rapport.core.errors import DomainError


def console_actor(request: HttpRequest) -> Actor:
    """The signed-in staff member, acting through the console."""
    return Actor(user=request.user, source=Source.CONSOLE)


def error_text(exc: DomainError) -> str:
    """A refusal as one message line: "field: reason; ..." (a field-less error by its reason alone)."""
    return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in exc.errors)
