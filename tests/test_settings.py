import json
import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from rapport.core.secrets import load_or_create


def test_debug_is_off_and_times_are_stored_in_utc():
    assert settings.DEBUG is False
    assert settings.USE_TZ is True and settings.TIME_ZONE == "UTC"
    assert {code for code, _ in settings.LANGUAGES} == {"en", "zh-hans"}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="WAL is SQLite's")
def test_embedded_sqlite_runs_in_wal_mode(tmp_path):
    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    script = (
        "import django; django.setup();"
        "from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "rapport.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "wal"
    assert (tmp_path / "rapport.sqlite3").exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's test database")
@pytest.mark.django_db
def test_the_sqlite_test_database_is_a_file_in_wal_mode_as_in_real_use():
    """Jobs in the server's thread pool then wait for a lock, as they do in real use, instead of
    failing on the in-memory database's shared cache (rapport.testing.fixtures.pytest_configure)."""
    assert not connection.is_in_memory_db()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_keys_are_generated_once_and_kept_private(tmp_path):
    first = load_or_create(tmp_path)
    second = load_or_create(tmp_path)
    assert first == second
    mode = stat.S_IMODE(os.stat(tmp_path / "secrets.json").st_mode)
    assert mode == 0o600
    assert set(json.loads((tmp_path / "secrets.json").read_text())) == {
        "secret_key",
        "encryption_keys",
        "blind_index_key",
    }


def test_a_job_whose_worker_dies_goes_back_to_the_queue_and_is_not_redelivered_while_running():
    from rapport.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    # longer than the longest import (1M order rows: ~2.3 h at 121 rows/s, docs/benchmarks.md)
    assert app.conf.broker_transport_options["visibility_timeout"] >= 3 * 3600
