"""``rapport maintain_events``: create the coming months' partitions and apply retention now."""

from typing import Any

from django.core.management.base import BaseCommand

from rapport.events.tasks import maintain_events


class Command(BaseCommand):
    help = "Create upcoming monthly event partitions (PostgreSQL) and delete events past retention."

    def handle(self, *args: Any, **options: Any) -> None:
        purged = maintain_events.run()
        self.stdout.write(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in purged.items()))
