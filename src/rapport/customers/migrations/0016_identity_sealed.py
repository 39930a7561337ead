"""Channel identities whose id is personal data (a phone, an email, a wechat openid, a web user id:
every channel but member card numbers, see ``identity_is_personal``) are stored sealed with their
customer's key, and every identity gets its blind index, the column all look-ups now use.

Existing rows are converted in batches of ``BATCH``: one read, the batch's customer keys fetched
together, one ``UPDATE`` (``bulk_update``) — no save per row."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

import rapport.customers.models

BATCH = 2000


def seal_identities(apps: Any, schema_editor: Any) -> None:
    from rapport.customers.models import sealed_identities

    Identity = apps.get_model("customers", "Identity")
    last = 0
    while True:
        rows = list(
            Identity.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "customer_id", "channel", "external_id")[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        stored = sealed_identities(
            [(customer_id, channel, external_id) for _pk, customer_id, channel, external_id in rows]
        )
        Identity.objects.bulk_update(
            [
                Identity(pk=pk, external_id=external_id, external_index=index)
                for (pk, *_row), (_customer, _channel, external_id, index) in zip(rows, stored, strict=True)
            ],
            ["external_id", "external_index"],
        )


def open_identities(apps: Any, schema_editor: Any) -> None:
    """Back to readable ids (the field opens each seal on reading)."""
    Identity = apps.get_model("customers", "Identity")
    last = 0
    while True:
        rows = list(Identity.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "external_id")[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        Identity.objects.bulk_update([Identity(pk=pk, external_id=text) for pk, text in rows], ["external_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_subjectkey"),
        ("customers", "0015_customer_recruited_by"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="identity", name="identity_channel_external_id_unique"),
        migrations.AlterField(
            model_name="identity",
            name="external_id",
            field=rapport.customers.models.IdentityIdField(subject="customer_id", verbose_name="external id"),
        ),
        migrations.AddField(
            model_name="identity",
            name="external_index",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(seal_identities, open_identities, elidable=False),
        migrations.AlterField(
            model_name="identity",
            name="external_index",
            field=rapport.customers.models.IdentityIndexField(editable=False, max_length=64),
        ),
        migrations.AddConstraint(
            model_name="identity",
            constraint=models.UniqueConstraint(fields=("external_index",), name="identity_external_index_unique"),
        ),
        migrations.AddIndex(
            model_name="identity",
            index=models.Index(fields=["channel"], name="identity_channel_idx"),
        ),
    ]
