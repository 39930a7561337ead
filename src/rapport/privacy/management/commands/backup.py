from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.audit.models import AuditEntry
from rapport.audit.services import record
from rapport.core.actor import Actor, Source
from rapport.privacy.backup import BackupError, create_backup
from rapport.privacy.keyguard import KeysDoNotMatch
from rapport.privacy.passphrase import ENV_NAME, read_passphrase


class Command(BaseCommand):
    help = (
        "Write the database and the keys that read it to one file, the keys encrypted with a passphrase "
        f"(from --passphrase-file, {ENV_NAME} or a prompt). Restore it with `rapport restore`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "output",
            nargs="?",
            help="backup file to write (default: rapport-backup-<UTC time>.tar in the current folder)",
        )
        parser.add_argument("--passphrase-file", help="file whose first line is the passphrase")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"] or f"rapport-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar")
        passphrase = read_passphrase(options["passphrase_file"], confirm=True)
        try:
            manifest = create_backup(output, passphrase=passphrase)
        except (BackupError, KeysDoNotMatch) as exc:
            raise CommandError(str(exc)) from exc
        record(
            Actor(source=Source.CLI, label="backup"),
            AuditEntry.Action.CREATE,
            object_type="backup",
            object_repr=output.name,
            changes={"engine": manifest.engine},
        )
        self.stdout.write(self.style.SUCCESS(f"backup written to {output} ({manifest.engine}, {manifest.created_at})"))
        self.stdout.write("Keep the passphrase apart from the file: without it the backup cannot be restored.")
