"""Helpers for ``scripts/fuzz-api``: a throw-away PostgreSQL database and an admin token.

The fuzzing run writes whatever schemathesis invents, so it never runs in a database that
anything else uses: on PostgreSQL it gets a fresh ``<name>_fuzz`` database, dropped afterwards.
"""

from __future__ import annotations

import dj_database_url


def _admin_connection(url: str):
    import psycopg

    config = dj_database_url.parse(url)
    return psycopg.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    )


def create_database(url: str) -> str:
    """A fresh, empty ``<name>_fuzz`` database beside the one ``url`` names; returns its URL.

    SQLite URLs are returned as they are (the script gives the run its own data folder).
    """
    if not url.startswith(("postgres://", "postgresql://")):
        return url
    from psycopg import sql

    name = dj_database_url.parse(url)["NAME"] + "_fuzz"
    with _admin_connection(url) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    """Drop the database ``create_database`` made (only ever one whose name ends in ``_fuzz``)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    from psycopg import sql

    name = dj_database_url.parse(url)["NAME"]
    if not name.endswith("_fuzz"):
        return
    with _admin_connection(url) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def admin_token() -> str:
    """A token with every scope for the demo shop's admin, printed once for the fuzzing run."""
    import django

    django.setup()
    from django.contrib.auth.models import User

    from rapport.accounts.scopes import ALL_SCOPES
    from rapport.accounts.services import create_api_token
    from rapport.core.actor import Actor

    admin = User.objects.get(username="admin")
    _token, plaintext = create_api_token(
        user=admin, name="fuzzing run", scopes=list(ALL_SCOPES), actor=Actor.system("fuzz-api")
    )
    return plaintext
