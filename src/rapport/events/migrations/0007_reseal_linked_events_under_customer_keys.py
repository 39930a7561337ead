from collections import defaultdict
from typing import Any

from django.db import migrations

BATCH = 2000


def reseal(apps: Any, schema_editor: Any) -> None:
    """Events linked to a customer before linking moved their sealed values to the customer's key
    (an identify's back-fill, an alias, a merge) still hold the key ring's seal: moved now, in
    batches by id, so erasing the customer shreds them too."""
    from rapport.events.personal import KEY_RING_SEALED_LIKE, reseal_linked_events

    holds = " OR ".join(f"CAST({column} AS TEXT) LIKE %s" for column in ("properties", "traits", "context"))
    connection = schema_editor.connection
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, customer_id FROM events_event WHERE id > %s AND customer_id IS NOT NULL "  # noqa: S608
                f"AND ({holds}) ORDER BY id LIMIT %s",
                [last, KEY_RING_SEALED_LIKE, KEY_RING_SEALED_LIKE, KEY_RING_SEALED_LIKE, BATCH],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        last = rows[-1][0]
        by_customer: dict[int, list[int]] = defaultdict(list)
        for pk, customer_id in rows:
            by_customer[customer_id].append(pk)
        for customer_id, ids in by_customer.items():
            reseal_linked_events(ids, customer_id)
        if len(rows) < BATCH:
            break


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_subjectkey"),
        ("events", "0006_timeline_index_customers_only"),
    ]

    operations = [migrations.RunPython(reseal, migrations.RunPython.noop)]
