from typing import Any

from django.db import migrations

BATCH = 500


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    """Mail kept before is encrypted in place, in batches (raw SQL: the fields now decrypt)."""
    from rapport.core import pii

    connection = schema_editor.connection
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, sender, subject, raw FROM service_inboundmail WHERE id > %s ORDER BY id LIMIT %s",
                [last, BATCH],
            )
            rows = cursor.fetchall()
            for pk, sender, subject, raw in rows:
                cursor.execute(
                    "UPDATE service_inboundmail SET sender = %s, subject = %s, raw = %s WHERE id = %s",
                    [
                        pii.encrypt(sender) if sender else sender,
                        pii.encrypt(subject) if subject else subject,
                        pii.encrypt_bytes(bytes(raw)) if raw is not None and len(raw) else raw,
                        pk,
                    ],
                )
        if len(rows) < BATCH:
            break
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("service", "0008_encrypt_inbound_mail"),
    ]

    operations = [migrations.RunPython(encrypt_existing, migrations.RunPython.noop)]
