"""``rapport run``: the embedded default, one process that serves the console, the API and the jobs."""

from __future__ import annotations

import gc
import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.servers.basehttp import get_internal_wsgi_application

from rapport.accounts.roles import ROLE_LABELS
from rapport.core.jobs import stop_in_process_pool
from rapport.core.public_url import served_url, serving_at
from rapport.core.schedule import start_in_process_scheduler
from rapport.demo.embedded import prepare
from rapport.events.resolver import start_in_process_resolver, stop_in_process_resolver
from rapport.privacy.keyguard import KeysDoNotMatch, ensure_keys_match_database
from rapport.service.mail import start_configured_listener

DEFAULT_SEED = 1


def _stop(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not interrupt the shutdown
    raise KeyboardInterrupt  # waitress shuts down cleanly on it, as on Ctrl-C


class Command(BaseCommand):
    help = (
        "Start Rapport: migrate the database, collect static files, load the demo shop when the database has "
        "no customers, print the URL and demo logins, and serve with waitress until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on (default %(default)s)")
        parser.add_argument("--threads", type=int, default=8, help="request threads (default %(default)s)")
        parser.add_argument(
            "--no-seed", "--no-demo", dest="no_seed", action="store_true", help="do not load the demo shop"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="demo shop seed (default %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import create_server  # type: ignore[import-untyped, unused-ignore]

        prepared = prepare(
            seed=options["seed"], load_demo=not options["no_seed"], say=lambda message: self.stdout.write(message)
        )
        try:
            ensure_keys_match_database()
        except KeysDoNotMatch as exc:
            raise CommandError(str(exc)) from exc
        try:
            server = create_server(
                get_internal_wsgi_application(),
                host=options["host"],
                port=options["port"],
                threads=options["threads"],
                ident="rapport",
            )
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']} ({exc.strerror or exc}); "
                "is Rapport already running? Try another --port."
            ) from exc

        host = options["host"]
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{options['port']}/"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Rapport is running at {url}"))
        if host not in ("127.0.0.1", "localhost", "::1"):
            self.stdout.write("  (add this machine's name to RAPPORT_ALLOWED_HOSTS to reach it from elsewhere)")
        if settings.RAPPORT_PUBLIC_URL:
            self.stdout.write(f"Links in mail point at {settings.RAPPORT_PUBLIC_URL}/ (RAPPORT_PUBLIC_URL).")
        else:
            links = served_url(host, options["port"])
            serving_at(links)
            self.stdout.write(f"Links in mail point at {links}/ (set RAPPORT_PUBLIC_URL to change it).")
        if prepared.logins:
            self.stdout.write("Demo logins (the demo password works until someone changes it):")
            for login in prepared.logins:
                where = f", {login.store}" if login.store else ""
                label = f"{ROLE_LABELS[login.role]}{where}"
                self.stdout.write(f"  {login.username:<10} {login.password:<14} {label}")
        scheduler = start_in_process_scheduler()
        if scheduler is not None:
            start_in_process_resolver()  # events staged before a restart are resolved at once
            self.stdout.write("Background and scheduled jobs run in this process.")
        else:
            self.stdout.write(
                f"Background jobs go to Celery at {settings.CELERY_BROKER_URL}: "
                "start `celery -A rapport worker` and `celery -A rapport beat` beside this server."
            )
        mail_listener = start_configured_listener()
        if mail_listener is not None:
            self.stdout.write(
                "Customer mail becomes tickets: SMTP listener on "
                f"{settings.RAPPORT_SERVICE_SMTP_HOST}:{settings.RAPPORT_SERVICE_SMTP_PORT}"
            )
        self.stdout.write("Press Ctrl-C to stop.")
        self.stdout.flush()

        previous = signal.signal(signal.SIGTERM, _stop)
        try:
            server.run()  # returns after Ctrl-C or SIGTERM, once waitress has closed its sockets
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.close()
            if scheduler is not None:
                scheduler.stop()
                stop_in_process_pool()
                stop_in_process_resolver()
            if mail_listener is not None:
                mail_listener.stop()
            serving_at(None)
        self.stdout.write("Rapport stopped.")
        self.stdout.flush()
        # The process ends here. Its heap is some 350,000 long-lived objects (Django, the apps,
        # numpy, SciPy, scikit-learn, plotly), and the interpreter's last garbage collections walk
        # them all as it exits: 9 s after Ctrl-C on a machine at load 13, over 30 s busier. Frozen,
        # they are left to the operating system; everything that holds a resource was stopped above.
        gc.freeze()
