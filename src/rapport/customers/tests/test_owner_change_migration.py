"""Migration customers.0014: owner changes recorded sealed before 0013 become readable owner columns;
an id whose staff account is gone is left out, and the sealed values are blanked."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from rapport.core import shredding

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("customers", "0012_merge_lunar_birthday_and_note_encryption")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_sealed_owner_changes_become_readable():
    old = _migrate(BEFORE)
    seller = old.get_model("auth", "User").objects.create(username="seller")
    customer = old.get_model("customers", "Customer").objects.create(name="Amy", registered_at=timezone.now())
    ChangeRecord = old.get_model("customers", "ChangeRecord")
    given = ChangeRecord.objects.create(
        customer=customer, field="owner", old_value="", new_value=str(seller.pk), actor_label="t", source="console"
    )
    gone = ChangeRecord.objects.create(
        customer=customer, field="owner", old_value=str(seller.pk), new_value="999999", actor_label="t", source="api"
    )
    city = ChangeRecord.objects.create(
        customer=customer, field="city", old_value="", new_value="上海", actor_label="t", source="api"
    )
    assert ChangeRecord.objects.filter(pk=given.pk, new_value__startswith=shredding.PREFIX).exists()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(leaves)
    new = executor.loader.project_state(leaves).apps.get_model("customers", "ChangeRecord")

    rows = {r.pk: r for r in new.objects.all()}
    assert (rows[given.pk].owner_before_id, rows[given.pk].owner_after_id, rows[given.pk].new_value) == (
        None,
        seller.pk,
        "",
    )
    assert (rows[gone.pk].owner_before_id, rows[gone.pk].owner_after_id) == (seller.pk, None)
    assert rows[city.pk].new_value == "上海" and rows[city.pk].owner_after_id is None
    assert new.objects.filter(pk=city.pk, new_value__startswith=shredding.PREFIX).exists()
