"""``rapport token create|list|revoke``: API tokens for shops and integrations."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from rapport.accounts.models import ApiToken
from rapport.accounts.scopes import ALL_SCOPES
from rapport.accounts.services import create_api_token, revoke_api_token
from rapport.core.actor import Actor, Source
from rapport.core.commands import command_error
from rapport.core.errors import DomainError


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. The token itself is printed once, at creation."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a token for a staff user")
        create.add_argument("--user", required=True, help="the staff user the token acts as")
        create.add_argument("--name", required=True, help="what the token is for, e.g. 'web shop'")
        create.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            default=[],
            help=f"repeat for each scope; one of: {', '.join(ALL_SCOPES)}",
        )
        create.add_argument("--expires-in-days", type=int, default=None, help="days until the token expires")
        actions.add_parser("list", help="list tokens (never their secrets)")
        revoke = actions.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor(source=Source.CLI, label="rapport token")
        try:
            if options["action"] == "create":
                self._create(options, actor)
            elif options["action"] == "list":
                self._list()
            else:
                token = revoke_api_token(prefix=options["prefix"], actor=actor)
                self.stdout.write(f"revoked {token.prefix} ({token.name})")
        except DomainError as exc:
            raise command_error(exc) from exc

    def _create(self, options: dict[str, Any], actor: Actor) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"user: no active staff user {options['user']!r}")
        expires_at = None
        if options["expires_in_days"] is not None:
            if options["expires_in_days"] < 1:
                raise CommandError("expires-in-days: at least 1 day")
            expires_at = timezone.now() + dt.timedelta(days=options["expires_in_days"])
        token, plaintext = create_api_token(
            user=user, name=options["name"], scopes=options["scopes"], actor=actor, expires_at=expires_at
        )
        self.stdout.write(plaintext)
        self.stderr.write(
            f"token {token.prefix} for {user.username} with scopes {', '.join(token.scopes)}; "
            "keep it now, it is not shown again"
        )

    def _list(self) -> None:
        for token in ApiToken.objects.select_related("user").order_by("created_at"):
            state = "revoked" if token.revoked_at else ("expired" if not token.is_usable else "active")
            last_used = token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "never"
            self.stdout.write(
                f"{token.prefix}\t{token.user.username}\t{token.name}\t{','.join(token.scopes)}\t{state}\t{last_used}"
            )
