"""Owner changes recorded before 0013 hold the owner's id as sealed text: open each (the field opens
the seal; an erased customer's reads "") and move it into the readable owner columns, blanking the
sealed values. An id whose staff account is gone is left out (the column would point nowhere)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations

BATCH = 2000


def _owner_id(text: str | None, known: set[int]) -> int | None:
    value = (text or "").strip()
    return int(value) if value.isdigit() and int(value) in known else None


def unseal_owner_changes(apps: Any, schema_editor: Any) -> None:
    ChangeRecord = apps.get_model("customers", "ChangeRecord")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    known = set(User.objects.values_list("pk", flat=True))
    owner_changes = ChangeRecord.objects.filter(field="owner", owner_before=None, owner_after=None)
    last = 0
    while True:
        batch = list(owner_changes.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return
        for change in batch:
            change.owner_before_id = _owner_id(change.old_value, known)
            change.owner_after_id = _owner_id(change.new_value, known)
            change.old_value = change.new_value = ""
        ChangeRecord.objects.bulk_update(batch, ["owner_before", "owner_after", "old_value", "new_value"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_readable_owner_changes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(unseal_owner_changes, migrations.RunPython.noop)]
