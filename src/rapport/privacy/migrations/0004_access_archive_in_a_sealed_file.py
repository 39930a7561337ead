"""Access copies move from a database column to a file encrypted chunk by chunk
(``rapport.privacy.archives``): each copy still kept is written to its file, one at a time, and
the column goes."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import migrations, models


def move_archives_to_files(apps: Any, schema_editor: Any) -> None:
    from rapport.core import pii
    from rapport.privacy import archives

    DataSubjectRequest = apps.get_model("privacy", "DataSubjectRequest")
    kept = DataSubjectRequest.objects.filter(archive__isnull=False).order_by("pk")
    for pk in list(kept.values_list("pk", flat=True)):
        blob = DataSubjectRequest.objects.filter(pk=pk).values_list("archive", flat=True).get()
        name = f"request-{pk}-{secrets.token_hex(8)}.zip.sealed"
        with archives.writing(archives.folder() / name) as sealed:
            sealed.write(pii.decrypt_bytes(bytes(blob)))
        DataSubjectRequest.objects.filter(pk=pk).update(archive_file=name, archive=None)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0003_access_archive_built_by_a_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="datasubjectrequest",
            name="archive_file",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.RunPython(move_archives_to_files, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="datasubjectrequest", name="archive"),
    ]
