from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.loyalty.services.checks import check_ledgers


class Command(BaseCommand):
    help = (
        "Check every points and stored value account (each entry's balance-after in booking order, the final "
        "balance, the open lots), every coupon and every benefit card against their history. Exits 1 when "
        "anything does not add up."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = check_ledgers()
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} problem(s) found")
        self.stdout.write(self.style.SUCCESS("Every account, coupon and card adds up."))
