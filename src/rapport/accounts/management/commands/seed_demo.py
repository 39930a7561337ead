from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.demo.loader import DatabaseNotEmpty, seed_demo_shop

DEFAULT_SEED = 1


class Command(BaseCommand):
    help = (
        "Load the demo shop: 5 stores, 200 products, customers with identities and addresses, two years of "
        "orders and refunds, and one staff login per role. The same seed gives the same shop."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
        parser.add_argument("--customers", type=int, default=5000, help="number of customers (default %(default)s)")
        parser.add_argument("--orders", type=int, default=None, help="number of orders (default: 12 per customer)")
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed a database that already holds data, after DELETING EVERYTHING in it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 1 or (options["orders"] is not None and options["orders"] < 0):
            raise CommandError("--customers must be at least 1 and --orders at least 0")
        try:
            report = seed_demo_shop(
                seed=options["seed"],
                customers=options["customers"],
                orders=options["orders"],
                force=options["force"],
                say=lambda message: self.stdout.write(message),
            )
        except DatabaseNotEmpty as exc:
            raise CommandError(
                f"Not seeding: {exc}. Run `rapport seed_demo --force` to delete everything in this database "
                "and load the demo shop instead, or point DATABASE_URL / RAPPORT_DATA_DIR at an empty database."
            ) from exc
        counts = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in report.counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Demo shop (seed {report.seed}) loaded in {report.seconds:.1f} s: {counts}")
        )
        for login in report.logins:
            self.stdout.write(f"  {login.role:<14} {login.username} / {login.password}")
