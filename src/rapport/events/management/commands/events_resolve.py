"""``rapport events_resolve``: resolve staged tracking messages, once or as a dedicated worker."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import OperationalError, connections

from rapport.events.resolver import resolve_pending


class Command(BaseCommand):
    help = (
        "Move staged tracking messages into the events table (de-duplication, identities, orders). "
        "With --follow, keep doing so every --interval seconds: a dedicated resolver worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--follow", action="store_true", help="keep running, polling the staging table")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls (default %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["follow"]:
            self.stdout.write(f"events stored: {resolve_pending()}")
            return
        while True:
            try:
                stored = resolve_pending()
            except OperationalError as exc:
                self.stderr.write(f"database error, retrying: {exc}")
                stored = 0
            finally:
                connections.close_all()
            if stored:
                self.stdout.write(f"events stored: {stored}")
            else:
                time.sleep(options["interval"])
