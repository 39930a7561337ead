from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.privacy.backup import BackupError, restore_backup
from rapport.privacy.keyguard import KeysDoNotMatch, fingerprint
from rapport.privacy.passphrase import ENV_NAME, read_passphrase


class Command(BaseCommand):
    help = (
        "Restore a `rapport backup` file: the database (SQLite or PostgreSQL, as DATABASE_URL says) and its keys "
        f"into the data folder's secrets.json. The passphrase comes from --passphrase-file, {ENV_NAME} or a prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", help="the backup file")
        parser.add_argument("--passphrase-file", help="file whose first line is the passphrase")
        parser.add_argument("--replace", action="store_true", help="overwrite a database that already holds tables")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["backup"])
        if not path.is_file():
            raise CommandError(f"backup: {path} is not a file")
        passphrase = read_passphrase(options["passphrase_file"], confirm=False)
        try:
            manifest, keys_file = restore_backup(path, passphrase=passphrase, replace=options["replace"])
        except (BackupError, KeysDoNotMatch) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"restored the {manifest.engine} backup of {manifest.created_at}"))
        self.stdout.write(f"keys written to {keys_file}")
        env_keys = os.environ.get("RAPPORT_ENCRYPTION_KEYS", "")
        if env_keys:
            configured = [fingerprint(key.strip()) for key in env_keys.split(",") if key.strip()]
            if configured != manifest.encryption_key_fingerprints:
                self.stdout.write(
                    self.style.WARNING(
                        "RAPPORT_ENCRYPTION_KEYS in the environment overrides secrets.json and holds other keys: "
                        f"set it to the restored keys ({keys_file}) or remove it, or the server will refuse to start."
                    )
                )
        self.stdout.write("Run `rapport migrate` if this Rapport is newer than the backup, then start the server.")
