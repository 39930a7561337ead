from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.customers.models import Customer
from rapport.privacy.keyguard import KeySet, ensure_keys_match_database

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    return path


@pytest.fixture
def data_dir(tmp_path: Path, settings: Any) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_brings_back_the_data_and_the_keys(
    tmp_path: Path, passphrase_file: Path, data_dir: Path, settings: Any
) -> None:
    actor = Actor.system("test")
    kept = customer_services.create_customer(data={"name": "Wang Fang", "phone": "13900139000"}, actor=actor)
    archive = tmp_path / "shop.tar"
    call_command("backup", str(archive), passphrase_file=str(passphrase_file))
    keys_at_backup = KeySet.configured()

    customer_services.create_customer(data={"name": "After Backup"}, actor=actor)
    Customer.objects.filter(pk=kept.pk).update(name="Changed")
    # the keys are lost: the server now runs with new ones
    settings.RAPPORT_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(os.urandom(32)).decode()]

    call_command("restore", str(archive), passphrase_file=str(passphrase_file), replace=True)

    restored_keys = json.loads((data_dir / "secrets.json").read_text())
    assert restored_keys["encryption_keys"] == list(keys_at_backup.encryption_keys)
    assert restored_keys["blind_index_key"] == keys_at_backup.blind_index_key
    assert oct((data_dir / "secrets.json").stat().st_mode & 0o777) == "0o600"
    settings.RAPPORT_ENCRYPTION_KEYS = restored_keys["encryption_keys"]
    ensure_keys_match_database()
    assert list(Customer.objects.values_list("name", flat=True)) == ["Wang Fang"]
    assert Customer.objects.get().phone == "+8613900139000"


@pytest.mark.django_db(transaction=True)
def test_restore_with_a_wrong_passphrase_changes_nothing(tmp_path: Path, passphrase_file: Path, data_dir: Path) -> None:
    customer_services.create_customer(data={"name": "Zhao Min"}, actor=Actor.system("test"))
    archive = tmp_path / "shop.tar"
    call_command("backup", str(archive), passphrase_file=str(passphrase_file))
    customer_services.create_customer(data={"name": "Later"}, actor=Actor.system("test"))
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all")
    with pytest.raises(CommandError, match="wrong passphrase"):
        call_command("restore", str(archive), passphrase_file=str(wrong), replace=True)
    assert Customer.objects.count() == 2
    assert not (data_dir / "secrets.json").exists()


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_holds_tables_without_replace(
    tmp_path: Path, passphrase_file: Path, data_dir: Path
) -> None:
    archive = tmp_path / "shop.tar"
    call_command("backup", str(archive), passphrase_file=str(passphrase_file))
    with pytest.raises(CommandError, match="--replace"):
        call_command("restore", str(archive), passphrase_file=str(passphrase_file))


def test_backup_refuses_a_short_passphrase_and_an_existing_file(db: Any, tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("tiny")
    with pytest.raises(CommandError, match="at least 12 characters"):
        call_command("backup", str(tmp_path / "a.tar"), passphrase_file=str(short))
    existing = tmp_path / "b.tar"
    existing.write_text("keep me")
    good = tmp_path / "good"
    good.write_text(PASSPHRASE)
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(existing), passphrase_file=str(good))
    assert existing.read_text() == "keep me"


def test_restore_refuses_a_file_that_is_not_a_backup(db: Any, tmp_path: Path, passphrase_file: Path) -> None:
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(b"not a tar file")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("restore", str(bogus), passphrase_file=str(passphrase_file))
