from typing import Any

from django.db import migrations

BATCH = 1000


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    """Subjects written before are encrypted in place and given their search tokens, in batches
    (raw SQL: the field now decrypts)."""
    from rapport.core import pii

    connection = schema_editor.connection
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, subject FROM service_ticket WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH]
            )
            rows = cursor.fetchall()
            for pk, subject in rows:
                if subject:
                    cursor.execute(
                        "UPDATE service_ticket SET subject = %s, subject_search = %s WHERE id = %s",
                        [pii.encrypt(subject), pii.search_tokens(subject), pk],
                    )
        if len(rows) < BATCH:
            break
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("service", "0006_encrypt_ticket_subjects"),
    ]

    operations = [migrations.RunPython(encrypt_existing, migrations.RunPython.noop)]
