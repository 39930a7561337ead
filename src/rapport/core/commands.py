"""Helpers for management commands: one way to report a refused action on the command line."""

from __future__ import annotations

from django.core.management.base import CommandError

from rapport.core.errors import DomainError


def command_error(exc: DomainError) -> CommandError:
    """``field: message`` per error, so a CLI user sees what to fix just as an API client does."""
    return CommandError("\n".join(f"{e.field}: {e.message}" for e in exc.errors))
