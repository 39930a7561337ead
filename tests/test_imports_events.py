"""Behaviour history from JSON Lines: the tracking path's identity resolution, no journeys, each message once."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.core.actor import Actor
from rapport.customers import services as customer_services
from rapport.customers.models import Customer
from rapport.events.models import Event, EventReceipt, StagedMessage
from rapport.events.services import create_source
from rapport.events.signals import events_recorded
from rapport.imports import services
from rapport.imports.models import ImportJob

pytestmark = pytest.mark.django_db

TESTDATA = Path(__file__).resolve().parent.parent / "src" / "rapport" / "imports" / "testdata"
ACTOR = Actor.system("test")


@pytest.fixture
def source(db):
    return create_source(data={"name": "shop-web", "identity_channel": "shop"}, actor=ACTOR)


@pytest.fixture
def announced():
    heard: list[object] = []

    def listen(**kwargs):
        heard.extend(kwargs["messages"])

    events_recorded.connect(listen)
    yield heard
    events_recorded.disconnect(listen)


def run(**kwargs):
    kwargs.setdefault("channel", "shop-web")
    return services.import_file(TESTDATA / "events_history.jsonl", kind="events", actor=ACTOR, **kwargs)


def test_history_events_are_stored_on_their_customers_and_announced_to_nobody(source, announced):
    known, _ = customer_services.upsert_customer(
        channel="shop", external_id="shop-7", data={"name": "Zhao"}, actor=ACTOR
    )
    result = run()
    assert (result.processed_rows, result.created, result.rejected) == (8, 4, 4)
    assert {(e.line, e.field, e.code) for e in result.first_errors} == {
        (6, "event", "required"),
        (7, "event", "invalid_json"),
        (8, "messageId", "duplicate_key"),
        (9, "timestamp", "out_of_range"),
    }
    wang = Customer.objects.get(name="Wang Fang")
    events = {e.message_id: e for e in Event.objects.all()}
    # the identify made the customer and stitched the device's earlier page view, as tracking does
    assert events["h-1"].customer_id == wang.pk and events["h-3"].customer_id == wang.pk
    assert events["h-3"].timestamp.isoformat() == "2024-03-01T02:02:00+00:00"
    assert events["h-3"].properties == {"sku": "TEA-1"}
    # a line without messageId gets one from its content; a known user id finds its customer
    derived = [e for key, e in events.items() if key.startswith("import-")]
    assert len(derived) == 1 and derived[0].customer_id == known.pk
    assert announced == []  # no points for behaviour, no journey, no automatic tag from history
    assert not StagedMessage.objects.exists()


def test_the_same_file_twice_and_messages_the_tracking_api_already_stored(source):
    EventReceipt.objects.create(source=source, message_id="h-3", received_at="2024-03-01T02:02:00Z")
    first = run()
    assert (first.created, first.unchanged) == (3, 1)
    again = run()
    assert (again.created, again.unchanged, again.updated) == (0, 4, 0)
    assert Event.objects.count() == 3


def test_an_unknown_source_fails_the_job_with_a_reason(source):
    with pytest.raises(services.UnusableFile, match="no event source named 'nowhere'"):
        run(channel="nowhere")


def test_the_api_takes_a_jsonl_file_and_names_bad_input(
    admin_api, source, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")
    body = (TESTDATA / "events_history.jsonl").read_bytes()

    def start(**fields):
        data = {"kind": "events", "channel": "shop-web", "file": SimpleUploadedFile("history.jsonl", body)}
        data.update(fields)
        with django_capture_on_commit_callbacks(execute=True):
            return admin_api.post("/api/v1/imports", data)

    response = start()
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.kind, job.created_rows, job.error_rows) == ("succeeded", "events", 4, 4)
    for fields, name in (
        ({"channel": "nowhere"}, "channel"),
        ({"mode": "live"}, "mode"),
        ({"file": SimpleUploadedFile("history.csv", b"event\n{}\n")}, "file"),
    ):
        refused = start(**fields)
        assert refused.status_code == 422, refused.content
        assert name in {e["field"] for e in refused.json()["errors"]}


def test_the_command_line_imports_history_under_a_source(source, capsys):
    from django.core.management import call_command

    call_command("import", "events", str(TESTDATA / "events_history.jsonl"), "--channel", "shop-web", "--no-progress")
    out = capsys.readouterr().out
    assert "4 events created" in out and "line 7: event: not a JSON object" in out
    assert Event.objects.count() == 4
