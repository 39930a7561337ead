"""The engine's own change records are sealed with each customer's key, like the ORM's: what an
import changed about a person reads back until the person is erased, and nothing after."""

from pathlib import Path

import pytest
from django.db import connection

from rapport.core import shredding
from rapport.core.actor import Actor, Source
from rapport.core.models import SubjectKey
from rapport.customers.models import ChangeRecord, Customer
from rapport.customers.services import identity_indexes
from rapport.imports.services import import_file

pytestmark = pytest.mark.django_db
ACTOR = Actor(source=Source.IMPORT, label="test import")


def _import(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    import_file(path, kind="customers", actor=ACTOR)


def _raw_values(customer_id: int) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT field, old_value, new_value FROM customers_changerecord WHERE customer_id = %s ORDER BY id",
            [customer_id],
        )
        return list(cursor.fetchall())


def test_changes_an_import_makes_are_sealed_with_the_customers_key_and_shredded_at_erasure(tmp_path):
    _import(tmp_path, "a.csv", "id,name,city\nc1,Amy Old,上海\nc2,Bob,北京\n")
    _import(tmp_path, "b.csv", "id,name,city\nc1,Amy Newname,杭州\nc2,Bob,深圳\n")
    amy = Customer.objects.get(identities__external_index__in=identity_indexes("c1"))
    bob = Customer.objects.get(identities__external_index__in=identity_indexes("c2"))

    raw = [row for row in _raw_values(amy.pk) if row[0] != "import"]
    assert {row[0] for row in raw} == {"name", "city"}
    assert all(shredding.is_sealed(old) and shredding.is_sealed(new) for _f, old, new in raw)
    assert all("Amy" not in old + new and "杭州" not in new for _f, old, new in raw)
    changes = {
        c.field: (c.old_value, c.new_value) for c in ChangeRecord.objects.filter(customer=amy).exclude(field="import")
    }
    assert changes == {"name": ("Amy Old", "Amy Newname"), "city": ("上海", "杭州")}
    assert SubjectKey.objects.filter(subject_id__in=[amy.pk, bob.pk]).count() == 2

    shredding.shred([amy.pk])
    after = {
        c.field: (c.old_value, c.new_value) for c in ChangeRecord.objects.filter(customer=amy).exclude(field="import")
    }
    assert after == {"name": ("", ""), "city": ("", "")}
    assert ChangeRecord.objects.get(customer=bob, field="city").new_value == "深圳"  # Bob's key is his own


def test_one_chunk_fetches_or_creates_its_customers_keys_together(django_assert_max_num_queries):
    with django_assert_max_num_queries(3):  # read, insert the missing, read them back
        keys = shredding.keys_for([901, 902, 903])
    assert set(keys) == {901, 902, 903}
    with django_assert_max_num_queries(3):  # however many were there already
        again = shredding.keys_for([901, 902, 903, 904])
    token = again[901].fernet.encrypt(b"x")
    assert keys[901].fernet.decrypt(token) == b"x"  # the same key, read back
