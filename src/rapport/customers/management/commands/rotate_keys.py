from typing import Any

from django.core.management.base import BaseCommand

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor, Source
from rapport.customers.keys import rotate_personal_data_keys
from rapport.privacy.keyguard import write_canary


class Command(BaseCommand):
    help = "Re-encrypt personal data under the first key of RAPPORT_ENCRYPTION_KEYS and rebuild blind indexes."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = rotate_personal_data_keys()
        write_canary()  # the canary follows the data to the new primary key
        record(
            Actor(source=Source.CLI, label="rotate_keys"),
            AuditEntry.Action.UPDATE,
            object_type="personal-data keys",
            changes=counts,
        )
        self.stdout.write(f"re-encrypted {counts['customers']} customers and {counts['addresses']} addresses")
