"""Where ``rapport backup`` and ``rapport restore`` take the passphrase from.

Never from the command line (it would land in the shell history and the process list): a file,
the environment, or a prompt.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from django.core.management.base import CommandError

ENV_NAME = "RAPPORT_BACKUP_PASSPHRASE"


def read_passphrase(passphrase_file: str | None, *, confirm: bool) -> str:
    if passphrase_file:
        try:
            return Path(passphrase_file).read_text().rstrip("\r\n")
        except OSError as exc:
            raise CommandError(f"--passphrase-file: cannot read {passphrase_file}: {exc.strerror}") from exc
    if os.environ.get(ENV_NAME):
        return os.environ[ENV_NAME]
    if not sys.stdin.isatty():
        raise CommandError(f"give the passphrase with --passphrase-file or {ENV_NAME} (no terminal to ask on)")
    first = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Same passphrase again: ") != first:
        raise CommandError("the two passphrases differ")
    return first
