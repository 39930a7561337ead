"""Replies recorded before the address was kept apart said "email to someone@example.com" in plain
text: keep the channel in ``delivery_detail``, move the address to the encrypted column, and mask
any address a failure reason quoted."""

from __future__ import annotations

import re
from typing import Any

from django.db import migrations

SENT_TO = re.compile(r"^(email|sms) to (\S+)$")
ADDRESS = re.compile(r"([\w.+-])[\w.+-]*(@[\w-]+(?:\.[\w-]+)+)")


def forwards(apps: Any, schema_editor: Any) -> None:
    TicketMessage = apps.get_model("service", "TicketMessage")
    changed = []
    for message in TicketMessage.objects.exclude(delivery_detail="").only("pk", "delivery_detail").iterator():
        detail = message.delivery_detail
        sent = SENT_TO.match(detail)
        if sent:
            message.delivery_detail, message.delivery_address = sent.group(1), sent.group(2)
        elif "@" in detail:
            message.delivery_detail = ADDRESS.sub(r"\1***\2", detail)
        else:
            continue
        changed.append(message)
        if len(changed) >= 500:
            TicketMessage.objects.bulk_update(changed, ["delivery_detail", "delivery_address"])
            changed = []
    TicketMessage.objects.bulk_update(changed, ["delivery_detail", "delivery_address"])


class Migration(migrations.Migration):
    dependencies = [("service", "0002_ticket_message_delivery_address_encrypted")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
