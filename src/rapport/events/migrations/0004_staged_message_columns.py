"""Staged messages keep the fields the resolver decides by as columns, and the JSON objects as ``body``.

Rows staged by the previous version (one JSON text of the parsed message) are converted in place,
so an upgrade with messages still waiting loses none of them.
"""

import datetime as dt
import json

from django.db import migrations, models

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _moment(value):
    return dt.datetime.fromisoformat(value) if value else None


def split_staged_messages(apps, schema_editor):
    StagedMessage = apps.get_model("events", "StagedMessage")
    for staged in StagedMessage.objects.iterator(chunk_size=1000):
        data = json.loads(staged.message)
        staged.timestamp = _moment(data["timestamp"])
        staged.type = data["type"]
        staged.name = data["name"]
        staged.message_id = data["message_id"]
        staged.user_id = data["user_id"]
        staged.anonymous_id = data["anonymous_id"]
        staged.previous_id = data["previous_id"]
        staged.original_timestamp = _moment(data["original_timestamp"])
        staged.sent_at = _moment(data["sent_at"])
        staged.body = json.dumps({key: data[key] for key in ("properties", "traits", "context")})
        staged.save()


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0003_staged_message'),
    ]

    operations = [
        migrations.AddField(
            model_name='stagedmessage',
            name='timestamp',
            field=models.DateTimeField(default=_EPOCH),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='type',
            field=models.CharField(choices=[('identify', 'identify'), ('track', 'track'), ('page', 'page'), ('screen', 'screen'), ('alias', 'alias'), ('group', 'group')], default='track', max_length=10),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='name',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='message_id',
            field=models.CharField(default='', max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='user_id',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='anonymous_id',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='previous_id',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='original_timestamp',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='stagedmessage',
            name='body',
            field=models.TextField(default='{}', help_text='the message as JSON: its properties, traits and context objects (other keys are ignored)'),
            preserve_default=False,
        ),
        migrations.RunPython(split_staged_messages, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='stagedmessage',
            name='message',
        ),
    ]
