"""A scratch PostgreSQL database for a benchmark, and Django set up on it (shared by the scripts)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def server_url(url: str) -> str:
    """The same server's maintenance database, from which ours is created and dropped."""
    return urlunsplit(urlsplit(url)._replace(path="/postgres")).replace("postgres://", "postgresql://", 1)


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(server_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def recreate_database(url: str) -> None:
    import psycopg

    drop_database(url)
    with psycopg.connect(server_url(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database_name(url)}"')


def setup_django(url: str, *, jobs_inline: bool = False) -> None:
    """Point Rapport at ``url`` and start Django; ``jobs_inline`` runs background jobs in the call."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    if jobs_inline:
        os.environ["RAPPORT_JOBS_SYNC"] = "1"
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def migrated_database(url: str) -> None:
    """A fresh database at ``url`` with every migration applied, and Django set up on it."""
    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
