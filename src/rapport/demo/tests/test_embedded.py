"""``rapport run`` and ``rapport seed_demo``: preparing the database, and the server's start and stop."""

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.management import CommandError, call_command

from rapport.customers.models import Customer
from rapport.demo.embedded import prepare
from rapport.demo.staff import DEMO_PASSWORD, DEMO_STAFF


@pytest.fixture(autouse=True)
def _static_root_in_tmp(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"


def test_prepare_loads_the_demo_shop_into_an_empty_database_and_returns_the_logins(db, settings):
    messages = []
    prepared = prepare(seed=7, customers=60, say=messages.append)
    assert prepared.seeded is not None and prepared.seeded.counts["customers"] == 60
    assert Customer.objects.count() == 60
    assert [(login.username, login.password, login.role) for login in prepared.logins] == [
        (s.username, DEMO_PASSWORD, s.role) for s in DEMO_STAFF
    ]
    assert (settings.STATIC_ROOT / "admin" / "css" / "base.css").exists()
    assert messages[0] == "Loading the demo shop (seed 7)…"
    again = prepare(seed=7, customers=60)
    assert again.seeded is None and len(again.logins) == len(DEMO_STAFF)


def test_prepare_without_the_demo_shop_only_migrates(db):
    prepared = prepare(seed=7, load_demo=False)
    assert prepared.seeded is None and prepared.logins == []
    assert not Customer.objects.exists()


def test_prepare_never_mixes_the_demo_shop_into_other_data(db, store):
    messages = []
    prepared = prepare(seed=7, customers=60, say=messages.append)
    assert prepared.seeded is None and not Customer.objects.exists()
    assert messages == ["Not loading the demo shop: the database already holds 1 stores."]


def test_seed_demo_prints_the_logins_and_refuses_a_second_time_without_force(db, capsys):
    call_command("seed_demo", "--customers", "40", "--seed", "3")
    out = capsys.readouterr().out
    assert "Demo shop (seed 3) loaded" in out and "40 customers" in out
    assert all(f"{s.username} / {DEMO_PASSWORD}" in out for s in DEMO_STAFF)
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", "--customers", "40")
    assert Customer.objects.count() == 40


def test_seed_demo_refuses_nonsense_sizes(db):
    with pytest.raises(CommandError, match="--customers"):
        call_command("seed_demo", "--customers", "0")


def test_run_says_so_when_the_port_is_taken(db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(CommandError, match="Try another --port"):
            call_command("run", "--no-seed", "--port", str(taken.getsockname()[1]))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_the_console_and_stops_cleanly_on_ctrl_c(tmp_path):
    """The real command in a child process, on a fresh SQLite database in a temporary data folder."""
    port, mail_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["RAPPORT_DATA_DIR"] = str(tmp_path)
    env["RAPPORT_SERVICE_SMTP_PORT"] = str(mail_port)  # customer mail → tickets, in the same process
    server = subprocess.Popen(
        [sys.executable, "-m", "rapport", "run", "--no-seed", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C as a terminal sends it, even when the suite itself was started in the background
        # (a shell's background job, and so its children, ignore SIGINT: the child never stopped)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        # a fresh database runs every migration first: minutes on a loaded 2-core CI machine
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
                    assert response.status == 200
                    assert "csrfmiddlewaretoken" in response.read().decode()
                with smtplib.SMTP("127.0.0.1", mail_port, timeout=5) as mail:
                    assert mail.noop()[0] == 250
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the server did not answer within four minutes"
                time.sleep(0.2)
        server.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        out, _ = server.communicate(timeout=30)
        stopping = time.monotonic() - signalled
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, out
    assert f"Rapport is running at http://127.0.0.1:{port}/" in out
    assert f"SMTP listener on 127.0.0.1:{mail_port}" in out
    assert "Rapport stopped." in out
    # It used to take 9 s at load 13 and over 30 s busier, all of it after "Rapport stopped.": the
    # interpreter's last garbage collections over the whole heap (now frozen); 1.3 s at load 20.
    assert stopping < 10, f"{stopping:.1f} s from Ctrl-C to exit"
    assert (tmp_path / "rapport.sqlite3").exists()
