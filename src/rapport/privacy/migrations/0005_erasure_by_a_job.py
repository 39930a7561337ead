"""Erasure is fulfilled by a background job too: the request's job (``archive_job`` until now)
serves both kinds, and an erasure under way is ``erasing``."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0004_access_archive_in_a_sealed_file"),
    ]

    operations = [
        migrations.RenameField(model_name="datasubjectrequest", old_name="archive_job", new_name="job"),
        migrations.AlterField(
            model_name="datasubjectrequest",
            name="status",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("verified", "Verified"),
                    ("preparing", "Preparing the copy"),
                    ("erasing", "Erasing"),
                    ("completed", "Completed"),
                    ("rejected", "Rejected"),
                ],
                default="received",
                max_length=10,
                verbose_name="status",
            ),
        ),
    ]
