from typing import Any

from django.db import migrations

BATCH = 1000


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    """Notes written before are encrypted in place, in batches (raw SQL: the field now decrypts)."""
    from rapport.core import pii

    connection = schema_editor.connection
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, body FROM customers_note WHERE id > %s ORDER BY id LIMIT %s", [last, BATCH])
            rows = cursor.fetchall()
            for pk, body in rows:
                if body:
                    cursor.execute("UPDATE customers_note SET body = %s WHERE id = %s", [pii.encrypt(body), pk])
        if len(rows) < BATCH:
            break
        last = rows[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0010_encrypt_note_bodies"),
    ]

    operations = [migrations.RunPython(encrypt_existing, migrations.RunPython.noop)]
