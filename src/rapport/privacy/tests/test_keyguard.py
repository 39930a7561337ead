from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rapport.privacy.keyguard import (
    KeysDoNotMatch,
    KeySet,
    ensure_keys_match_database,
    fingerprint,
    refuse_worker_with_wrong_keys,
    write_canary,
)
from rapport.privacy.models import KeyCanary


def _new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_first_start_writes_the_canary_and_the_same_keys_pass(db: Any, settings: Any) -> None:
    ensure_keys_match_database()
    canary = KeyCanary.objects.get()
    assert canary.encryption_key_fingerprint == fingerprint(settings.RAPPORT_ENCRYPTION_KEYS[0])
    ensure_keys_match_database()  # no error, no second row
    assert KeyCanary.objects.count() == 1


def test_start_with_other_encryption_keys_is_refused_naming_the_setting(db: Any, settings: Any) -> None:
    ensure_keys_match_database()
    stored = fingerprint(settings.RAPPORT_ENCRYPTION_KEYS[0])
    settings.RAPPORT_ENCRYPTION_KEYS = [_new_key()]
    with pytest.raises(KeysDoNotMatch) as refused:
        ensure_keys_match_database()
    message = str(refused.value)
    assert "RAPPORT_ENCRYPTION_KEYS" in message
    assert stored in message
    assert KeyCanary.objects.get().encryption_key_fingerprint == stored  # nothing was overwritten


def test_start_with_another_blind_index_key_is_refused(db: Any, settings: Any) -> None:
    ensure_keys_match_database()
    settings.RAPPORT_BLIND_INDEX_KEY = "another-index-key"
    with pytest.raises(KeysDoNotMatch, match="RAPPORT_BLIND_INDEX_KEY"):
        ensure_keys_match_database()


def test_rotated_keys_keep_reading_the_canary_while_the_old_key_is_listed(db: Any, settings: Any) -> None:
    ensure_keys_match_database()
    old = settings.RAPPORT_ENCRYPTION_KEYS[0]
    settings.RAPPORT_ENCRYPTION_KEYS = [_new_key(), old]
    ensure_keys_match_database()
    write_canary()  # what rotate_keys does after re-encrypting
    settings.RAPPORT_ENCRYPTION_KEYS = settings.RAPPORT_ENCRYPTION_KEYS[:1]
    ensure_keys_match_database()


def test_data_from_before_the_canary_is_checked_with_a_sample(db: Any, settings: Any, make_customer: Any) -> None:
    make_customer(phone="13800138000")
    settings.RAPPORT_ENCRYPTION_KEYS = [_new_key()]
    with pytest.raises(KeysDoNotMatch, match="predates the canary"):
        ensure_keys_match_database()
    assert not KeyCanary.objects.exists()


def test_a_database_without_personal_data_gets_a_canary_for_its_keys(db: Any, settings: Any) -> None:
    settings.RAPPORT_ENCRYPTION_KEYS = [_new_key()]
    ensure_keys_match_database(KeySet.configured())
    assert KeyCanary.objects.get().encryption_key_fingerprint == fingerprint(settings.RAPPORT_ENCRYPTION_KEYS[0])


def _rapport(data_dir: Path, database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RAPPORT_", "DATABASE_URL", "CELERY_", "DJANGO_SETTINGS"))
    }
    env |= {"RAPPORT_DATA_DIR": str(data_dir), "DATABASE_URL": f"sqlite:///{database}"}
    src = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_wsgi_server_refuses_to_start_with_a_fresh_data_folder(tmp_path: Path) -> None:
    """The failure of the issue: a restored database, an empty data folder, new keys generated."""
    database = tmp_path / "shop.sqlite3"
    first = _rapport(tmp_path / "data-a", database, "-m", "rapport", "migrate", "--verbosity=0")
    assert first.returncode == 0, first.stderr
    made = _rapport(
        tmp_path / "data-a",
        database,
        "-c",
        "import rapport.wsgi; from rapport.customers.models import Customer; "
        "from rapport.customers import services; from rapport.core.actor import Actor; "
        "services.create_customer(data={'name': 'Li Lei', 'phone': '13800138000'}, actor=Actor.system('t'))",
    )
    assert made.returncode == 0, made.stderr

    same_keys = _rapport(tmp_path / "data-a", database, "-c", "import rapport.wsgi")
    assert same_keys.returncode == 0, same_keys.stderr

    fresh = _rapport(tmp_path / "data-b", database, "-c", "import rapport.wsgi")
    assert fresh.returncode != 0
    assert "KeysDoNotMatch" in fresh.stderr
    assert "RAPPORT_ENCRYPTION_KEYS" in fresh.stderr


def test_a_celery_worker_with_other_keys_exits_before_taking_jobs(db: Any, settings: Any) -> None:
    """Celery swallows exceptions from signal handlers: the refusal must be a SystemExit."""
    ensure_keys_match_database()
    refuse_worker_with_wrong_keys()  # the right keys: nothing happens
    settings.RAPPORT_ENCRYPTION_KEYS = [_new_key()]
    with pytest.raises(SystemExit, match="RAPPORT_ENCRYPTION_KEYS"):
        refuse_worker_with_wrong_keys()
