"""An import's background job, cancelled from the jobs page while no run is left, closes the import."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.core import jobs
from rapport.core.actor import Actor
from rapport.core.models import BackgroundJob, JobStatus
from rapport.imports import services as imports
from rapport.imports.models import ImportJob

pytestmark = pytest.mark.django_db


def test_cancelling_a_queued_import_job_cancels_the_import_and_drops_its_file(settings: Any, tmp_path: Any) -> None:
    settings.RAPPORT_DATA_DIR = str(tmp_path)
    upload = SimpleUploadedFile("c.csv", b"id,name\nc1,Amy\n")
    job = imports.start_job(kind="customers", upload=upload, channel="import", mapping={}, actor=Actor.system("t"))
    tracked = BackgroundJob.objects.get(task="rapport.imports.run_import", args=[job.pk])
    assert jobs.cancel(tracked.pk).status == JobStatus.CANCELLED
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED and "nothing was imported" in job.error_message
    assert not list((tmp_path / "imports").glob("*.csv*"))


def test_a_tracked_import_runs_and_its_record_says_so(
    settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RAPPORT_DATA_DIR = str(tmp_path)
    upload = SimpleUploadedFile("c.csv", b"id,name\nc1,Amy\nc2,Bob\n")
    with django_capture_on_commit_callbacks(execute=True):
        job = imports.start_job(kind="customers", upload=upload, channel="import", mapping={}, actor=Actor.system("t"))
    job.refresh_from_db()
    assert (job.status, job.created_rows) == (ImportJob.Status.SUCCEEDED, 2)
    tracked = BackgroundJob.objects.get(task="rapport.imports.run_import", args=[job.pk])
    assert (tracked.status, tracked.attempts, tracked.resumable) == (JobStatus.SUCCEEDED, 1, True)
