"""``rapport backup`` / ``rapport restore``: the database and the keys that read it, as one file.

A backup is a tar archive holding ``manifest.json``, ``keys.enc`` (the Django secret key and the
personal-data keys, encrypted with a key derived from a passphrase by scrypt) and the database:
``database.sqlite3`` (SQLite's online backup API, consistent while the server runs) or
``database.pgdump`` (``pg_dump`` custom format, restored with ``pg_restore``). Without the
passphrase the archive's personal data stays unreadable, and without the archive's keys the
restored database would be useless: the two travel together and are checked together.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.db import connection, connections

from rapport.privacy.keyguard import KeySet, ensure_keys_match_database, fingerprint

FORMAT_VERSION = 1
MIN_PASSPHRASE_LENGTH = 12
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    engine: str
    created_at: str
    encryption_key_fingerprints: list[str]
    blind_index_key_fingerprint: str
    salt: str


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def _fernet_for(passphrase: str, salt: bytes) -> Fernet:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise BackupError(f"the passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters")
    derived = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed; install the PostgreSQL client tools")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip() or result.returncode}")


def _dump_database(engine: str, target: Path) -> None:
    if engine == "sqlite":
        connection.ensure_connection()
        with sqlite3.connect(target) as copy:
            connection.connection.backup(copy)
        copy.close()
    else:
        args, env = _pg_env()
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target), *args], env)


def create_backup(output: Path, *, passphrase: str) -> Manifest:
    """Write a backup of this database and its keys to ``output`` (refuses to overwrite)."""
    engine = _engine()
    if output.exists():
        raise BackupError(f"{output} already exists; choose another file name")
    ensure_keys_match_database()  # a backup whose keys cannot read it would be worthless
    keys = KeySet.configured()
    salt = os.urandom(16)
    sealed = _fernet_for(passphrase, salt).encrypt(
        json.dumps(
            {
                "secret_key": settings.SECRET_KEY,
                "encryption_keys": list(keys.encryption_keys),
                "blind_index_key": keys.blind_index_key,
            }
        ).encode()
    )
    manifest = Manifest(
        engine=engine,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        encryption_key_fingerprints=[fingerprint(key) for key in keys.encryption_keys],
        blind_index_key_fingerprint=fingerprint(keys.blind_index_key),
        salt=base64.b64encode(salt).decode(),
    )
    member = SQLITE_MEMBER if engine == "sqlite" else POSTGRES_MEMBER
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as work:
        dump = Path(work) / member
        _dump_database(engine, dump)
        partial = Path(work) / "backup.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as archive:
            _add_bytes(archive, "manifest.json", json.dumps({"format": FORMAT_VERSION, **manifest.__dict__}).encode())
            _add_bytes(archive, "keys.enc", sealed)
            archive.add(dump, arcname=member)
        os.link(partial, output)  # appears whole or not at all; refuses to replace a file
    return manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def _read_member(archive: tarfile.TarFile, name: str) -> bytes:
    try:
        handle = archive.extractfile(name)
    except KeyError:
        handle = None
    if handle is None:
        raise BackupError(f"this is not a Rapport backup: {name} is missing")
    return handle.read()


def read_keys(path: Path, *, passphrase: str) -> tuple[Manifest, dict[str, Any]]:
    """The manifest and the decrypted keys of a backup; a wrong passphrase is refused."""
    try:
        with tarfile.open(path, mode="r") as archive:
            raw_manifest = json.loads(_read_member(archive, "manifest.json"))
            sealed = _read_member(archive, "keys.enc")
    except (OSError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from exc
    if raw_manifest.pop("format", None) != FORMAT_VERSION:
        raise BackupError(f"{path} was written by an unknown version of Rapport")
    manifest = Manifest(**raw_manifest)
    try:
        keys = json.loads(_fernet_for(passphrase, base64.b64decode(manifest.salt)).decrypt(sealed))
    except InvalidToken:
        raise BackupError("wrong passphrase: the keys in this backup cannot be decrypted with it") from None
    return manifest, keys


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _restore_database(engine: str, archive_path: Path) -> None:
    member = SQLITE_MEMBER if engine == "sqlite" else POSTGRES_MEMBER
    with tempfile.TemporaryDirectory() as work, tarfile.open(archive_path, mode="r") as archive:
        names = archive.getnames()
        if member not in names:
            other = "PostgreSQL" if POSTGRES_MEMBER in names else "SQLite"
            raise BackupError(f"this backup holds a {other} database; DATABASE_URL points to {engine}")
        archive.extract(member, work, filter="data")
        dump = Path(work) / member
        if engine == "sqlite":
            connection.ensure_connection()
            with sqlite3.connect(dump) as source:
                source.backup(connection.connection)
            source.close()
        else:
            _restore_postgres(dump, Path(work))


def _restore_postgres(dump: Path, work: Path) -> None:
    """Replace the schema with the dump's in one transaction: a failed restore leaves the database
    as it was. (``pg_restore --clean`` cannot drop the constraints of partitioned event tables.)"""
    connections.close_all()
    args, env = _pg_env()
    script = work / "restore.sql"
    _run(["pg_restore", "--no-owner", "--no-privileges", "--file", str(script), str(dump)], env)
    prelude = work / "prelude.sql"
    prelude.write_text("DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n")
    _run(
        [
            "psql",
            "--quiet",
            "--no-psqlrc",
            "--single-transaction",
            "--set",
            "ON_ERROR_STOP=1",
            *args,
            "--file",
            str(prelude),
            "--file",
            str(script),
        ],
        env,
    )


def write_keys_file(data_dir: Path, keys: dict[str, Any]) -> Path:
    """Put the restored keys where ``rapport.settings`` reads them (mode 0600, replaced atomically)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secrets.json"
    partial = data_dir / f"secrets.{os.getpid()}.restore"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle, indent=2)
    os.replace(partial, path)
    return path


def restore_backup(path: Path, *, passphrase: str, replace: bool = False) -> tuple[Manifest, Path]:
    """Restore the database and the keys of a backup, then check that the keys read the database.

    An existing database is replaced only with ``replace=True``. The keys go to the data folder's
    ``secrets.json``; where the environment sets keys, it wins, and the caller must say so.
    """
    engine = _engine()
    manifest, keys = read_keys(path, passphrase=passphrase)
    if manifest.engine != engine:
        raise BackupError(f"this backup holds a {manifest.engine} database; DATABASE_URL points to {engine}")
    if not replace and not _database_is_empty():
        raise BackupError("the database is not empty; pass --replace to overwrite it with the backup")
    _restore_database(engine, path)
    written = write_keys_file(Path(settings.DATA_DIR), keys)
    ensure_keys_match_database(KeySet(tuple(keys["encryption_keys"]), keys["blind_index_key"]))
    return manifest, written
