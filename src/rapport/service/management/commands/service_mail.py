"""``rapport service_mail``: run the inbound SMTP listener that turns mail to the support address
into tickets (the same listener ``rapport run`` starts when RAPPORT_SERVICE_SMTP_PORT is set)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.service.mail import start_listener


class Command(BaseCommand):
    help = "Listen for mail to the support address (RAPPORT_SERVICE_ADDRESS) and turn it into tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.RAPPORT_SERVICE_SMTP_HOST, help="default %(default)s")
        parser.add_argument(
            "--port", type=int, default=settings.RAPPORT_SERVICE_SMTP_PORT or 2525, help="default %(default)s"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            controller = start_listener(options["host"], options["port"])
        except (OSError, RuntimeError) as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Support mail for {settings.RAPPORT_SERVICE_ADDRESS} accepted on {options['host']}:{options['port']}"
            )
        )
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
        self.stdout.write("Stopped.")
