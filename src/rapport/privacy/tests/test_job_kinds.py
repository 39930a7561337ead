"""Every kind of background job is tracked through the one mechanism: each run leaves a record
with its kind, and any kind can be retried and cancelled from the jobs list (service level; the
API and page are in test_jobs.py and test_browser.py)."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app
from django.test import Client
from django.utils import translation

from rapport.core import jobs as kernel
from rapport.core.actor import Actor
from rapport.core.models import BackgroundJob, JobStatus
from rapport.privacy import jobs

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
MISSING = 987654  # an id nothing has: a job about it finishes having done nothing

# the arguments a run of each kind takes (ids of objects that do not exist)
ARGS: dict[str, list[Any]] = {
    "rapport.segments.snapshot_segment": [MISSING],
    "rapport.loyalty.issue_to_segment": [MISSING, MISSING, "key", "test"],
    "rapport.imports.run_import": [MISSING],
    "rapport.campaigns.run_plan": [MISSING],
    "rapport.campaigns.enter_journey": [MISSING, [[MISSING, "k", {}]]],
    "rapport.tags.evaluate_tag": [MISSING],
    "rapport.privacy.build_access_archive": [MISSING],
    "rapport.privacy.erase_customer": [MISSING, None, "api", "test"],
}


def _rapport_tasks() -> dict[str, Any]:
    current_app.loader.import_default_modules()
    return {
        name: task
        for name, task in current_app.tasks.items()
        if name.startswith("rapport.") and not name.startswith("rapport.tests.")
    }


TRACKED = sorted(name for name in _rapport_tasks() if name not in kernel.UNTRACKED)


def test_every_task_of_the_apps_is_tracked_with_a_kind_label_or_listed_as_plumbing() -> None:
    tasks = _rapport_tasks()
    assert set(kernel.UNTRACKED) <= set(tasks), "UNTRACKED names a task that does not exist"
    untracked = [name for name in TRACKED if not isinstance(tasks[name], kernel.TrackedTask)]
    assert untracked == [], "declare these with rapport.core.jobs.tracked_task (or list them in UNTRACKED)"
    assert all(kernel.kind_label(name) != name for name in TRACKED)
    # every scheduled run is of a known task
    from django.conf import settings

    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(tasks)


def test_kind_labels_read_in_english_and_chinese() -> None:
    with translation.override("en"):
        assert kernel.kind_label("rapport.recommendations.train") == "Recommendation model training"
    with translation.override("zh-hans"):
        assert kernel.kind_label("rapport.recommendations.train") == "推荐模型训练"
        assert kernel.kind_label("rapport.campaigns.run_plan") == "营销计划发送"


@pytest.mark.parametrize("name", TRACKED)
def test_a_run_of_every_kind_is_recorded_and_a_failed_one_can_be_retried(name: str, settings: Any) -> None:
    settings.RAPPORT_JOBS_SYNC = True
    task = _rapport_tasks()[name]
    failed = BackgroundJob.objects.create(
        task=name, args=ARGS.get(name, []), resumable=task.resumable, status=JobStatus.FAILED, attempts=1, error="boom"
    )
    with _on_commit_runs():
        done = jobs.retry(failed, actor=ACTOR)
    done.refresh_from_db()
    assert (done.status, done.attempts, done.error) == (JobStatus.SUCCEEDED, 2, ""), done.error
    assert jobs.body(done)["kind"] == kernel.kind_label(name)


@pytest.mark.parametrize("name", TRACKED)
def test_a_queued_job_of_every_kind_can_be_cancelled(name: str) -> None:
    queued = BackgroundJob.objects.create(task=name, args=ARGS.get(name, []))
    cancelled = jobs.cancel(queued, actor=ACTOR)
    assert cancelled.status == JobStatus.CANCELLED
    assert kernel.retry(cancelled.pk).status == JobStatus.QUEUED  # and a cancelled one can be retried


def test_a_scheduled_run_started_by_celery_beat_leaves_a_record(settings: Any) -> None:
    """Beat sends the task's name to a worker, bypassing enqueue: the task records itself."""
    settings.RAPPORT_JOBS_SYNC = True
    from rapport.loyalty.tasks import expire_coupons

    assert expire_coupons() == 0  # what a worker does with beat's message
    run = BackgroundJob.objects.get(task="rapport.loyalty.expire_coupons")
    assert (run.status, run.attempts, run.resumable) == (JobStatus.SUCCEEDED, 1, False)


def test_the_jobs_api_names_the_kind(admin_api: Client) -> None:
    BackgroundJob.objects.create(task="rapport.analytics.recompute_metrics", status=JobStatus.STALLED)
    listed = admin_api.get("/api/v1/jobs?status=stalled", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert listed["results"][0]["kind"] == "客户指标与模型（CLV、流失）"


def _on_commit_runs() -> Any:
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)
