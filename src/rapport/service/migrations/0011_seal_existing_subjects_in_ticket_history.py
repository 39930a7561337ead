import json
from typing import Any

from django.db import migrations

BATCH = 1000
SEALED_KEY = "subject"


def seal_existing(apps: Any, schema_editor: Any) -> None:
    """Subject changes recorded before keep the old and new subject in plaintext: each is sealed
    with the ticket's customer's key, as the field now does on every write. In batches by id, the
    keys of a batch's customers fetched or created together (raw SQL: the field now opens seals)."""
    import orjson

    from rapport.core import shredding

    connection = schema_editor.connection
    as_json = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.id, e.data, t.customer_id FROM service_ticketevent e "
                "JOIN service_ticket t ON t.id = e.ticket_id "
                "WHERE e.id > %s AND CAST(e.data AS TEXT) LIKE %s ORDER BY e.id LIMIT %s",
                [last, f'%"{SEALED_KEY}"%', BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            found = [(pk, data if isinstance(data, dict) else json.loads(data), customer) for pk, data, customer in rows]
            plain = [
                (pk, data, customer)
                for pk, data, customer in found
                if SEALED_KEY in data and not shredding.is_sealed(data[SEALED_KEY])
            ]
            seal = shredding.sealer({customer for _pk, _data, customer in plain})
            for pk, data, customer in plain:
                data[SEALED_KEY] = seal(customer, orjson.dumps(data[SEALED_KEY]).decode())
                cursor.execute(
                    f"UPDATE service_ticketevent SET data = {as_json} WHERE id = %s",  # noqa: S608
                    [json.dumps(data), pk],
                )
        if len(rows) < BATCH:
            break


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_subjectkey"),
        ("service", "0010_ticket_history_seals_subjects"),
    ]

    operations = [migrations.RunPython(seal_existing, migrations.RunPython.noop)]
