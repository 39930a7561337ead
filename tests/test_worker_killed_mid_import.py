"""A real Celery worker killed with SIGKILL in the middle of an import: the watchdog notices the
silent heartbeat, queues the job again, a new worker resumes after the last committed chunk, and
every row is imported exactly once (PostgreSQL + Redis, as in production)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from rapport.audit.models import AuditEntry
from rapport.core import jobs
from rapport.core.actor import Actor
from rapport.core.models import BackgroundJob, JobStatus
from rapport.customers.models import Customer, Identity
from rapport.imports import services as imports
from rapport.imports.models import ImportJob

REDIS = "redis://127.0.0.1:6379"
# The key by which a run holds a Redis database as its broker, so that two runs on one machine
# (two PostgreSQL passes, two engineers) never flush each other's queue.
CLAIM = "rapport-test:broker-claimed-by"
ROWS = 20_000


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(f"{REDIS}/0", socket_connect_timeout=1).ping())
    except Exception:
        return False


def _claim_free_database(owner: str) -> str:
    """The URL of a Redis database (1–15) nobody else holds, held by ``owner`` for 15 minutes."""
    import redis

    for number in range(15, 0, -1):
        url = f"{REDIS}/{number}"
        if redis.Redis.from_url(url).set(CLAIM, owner, nx=True, ex=900):
            return url
    pytest.skip("every Redis database 1–15 is held by another test run")


pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker shares the test database over TCP"),
    pytest.mark.skipif(not _redis_answers(), reason="needs Redis at 127.0.0.1:6379"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def broker(settings: Any) -> Iterator[str]:
    """The test process sends jobs to Redis as a production web server does, on a database of its own."""
    import redis

    url = _claim_free_database(owner=f"{connection.settings_dict['NAME']} pid {os.getpid()}")
    held = redis.Redis.from_url(url)
    for key in held.scan_iter():
        if key != CLAIM.encode():  # what a run killed before its clean-up left behind
            held.delete(key)
    settings.RAPPORT_JOBS_SYNC = False
    settings.RAPPORT_JOBS_INPROCESS = False
    conf = current_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = url, False
    yield url
    conf.broker_url, conf.task_always_eager = saved
    held.flushdb()


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """Uploads are kept (encrypted) in the data folder, which the workers share."""
    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def start_worker(
    broker: str, settings: Any, data_dir: Path, tmp_path: Path
) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    db = connection.settings_dict
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "RAPPORT_DATA_DIR": str(data_dir),
        "RAPPORT_ENCRYPTION_KEYS": ",".join(settings.RAPPORT_ENCRYPTION_KEYS),
        "RAPPORT_BLIND_INDEX_KEY": settings.RAPPORT_BLIND_INDEX_KEY,
        "RAPPORT_JOB_HEARTBEAT_SECONDS": "0.5",
        "RAPPORT_JOBS_SYNC": "",
    }

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        command = [sys.executable, "-m", "celery", "-A", "rapport", "worker", "--pool=solo", "-l", "info"]
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{name}@%h"]
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.05)


def test_an_import_whose_worker_is_killed_resumes_and_imports_every_row_once(
    broker: str, start_worker: Callable[[str], subprocess.Popen[bytes]], settings: Any
) -> None:
    settings.RAPPORT_JOB_STALL_SECONDS = 2
    text = "id,name,phone\n" + "".join(f"k{i},Name {i},138{i:08d}\n" for i in range(ROWS))
    upload = SimpleUploadedFile("customers.csv", text.encode())
    job = imports.start_job(kind="customers", upload=upload, channel="import", mapping={}, actor=Actor.system("test"))
    tracked = BackgroundJob.objects.get(task="rapport.imports.run_import")
    assert tracked.args == [job.pk] and tracked.status == JobStatus.QUEUED

    first = start_worker("first")
    # the worker's start and a first chunk of 10,000 rows: under a loaded CI machine (the suite's
    # two workers and more) this took over 120 s once; the test checks the resumption, not speed
    _wait_for(lambda: ImportJob.objects.get(pk=job.pk).committed_line > 0, 300, "a first committed chunk")
    os.killpg(first.pid, signal.SIGKILL)  # kill -9, mid-import
    first.wait()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING and 0 < job.created_rows < ROWS, "the kill came too late"

    time.sleep(settings.RAPPORT_JOB_STALL_SECONDS + 0.5)  # its heartbeat falls silent
    assert jobs.watch_jobs() == {"requeued": 1, "stalled": 0}
    assert BackgroundJob.objects.get(pk=tracked.pk).status == JobStatus.QUEUED

    start_worker("second")
    _wait_for(lambda: BackgroundJob.objects.get(pk=tracked.pk).status == JobStatus.SUCCEEDED, 300, "the resumed run")
    job.refresh_from_db()
    tracked.refresh_from_db()
    assert tracked.attempts == 2
    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.processed_rows, job.created_rows, job.error_rows) == (ROWS, ROWS, 0)
    assert Customer.objects.count() == ROWS  # not one twice
    assert Identity.objects.values("external_index").distinct().count() == ROWS
    assert AuditEntry.objects.filter(action="import", object_id=str(job.pk)).count() == 1
