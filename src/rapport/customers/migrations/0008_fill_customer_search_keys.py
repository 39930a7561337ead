# Data migration for 0007: the search keys of the customers already there.

from django.db import migrations

from rapport.core import pii
from rapport.customers.models import name_pinyin


def fill_search_keys(apps, schema_editor):
    """Pinyin keys from the names and tail indexes from the phones (decrypted on load, in memory
    only), in batches, with the same rules ``Customer.save()`` applies today."""
    Customer = apps.get_model("customers", "Customer")
    last = 0
    while True:
        rows = list(Customer.objects.filter(pk__gt=last).order_by("pk").only("pk", "name", "phone")[:2000])
        if not rows:
            return
        for row in rows:
            row.name_pinyin = name_pinyin(row.name)
            row.phone_tail_index = pii.phone_tail_index(row.phone)
        Customer.objects.bulk_update(rows, ["name_pinyin", "phone_tail_index"])
        last = rows[-1].pk


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0007_customer_search_keys'),
    ]

    operations = [
        migrations.RunPython(fill_search_keys, migrations.RunPython.noop),
    ]
