"""The ``rapport`` command: Django's management commands plus Rapport's own.

``rapport run`` starts the embedded default; ``rapport import``, ``rapport token`` and the
rest are management commands in the domain apps.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["rapport", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    main()
