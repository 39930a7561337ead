"""``/api/v1/imports``: start a job with a file, read its status and errors, cancel; bad input is a 4xx."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.accounts import roles
from rapport.customers.models import Customer
from rapport.imports.models import ImportJob

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports"


@pytest.fixture(autouse=True)
def jobs_inline(settings, tmp_path):
    settings.RAPPORT_JOBS_SYNC = True
    settings.RAPPORT_DATA_DIR = str(tmp_path / "data")


def start(client, testdata, django_capture_on_commit_callbacks, name="customers_mixed.csv", **fields):
    data = {"kind": "customers", "channel": "import"}
    data.update(fields)
    with open(testdata / name, "rb") as handle:
        data["file"] = SimpleUploadedFile(name, handle.read())
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, data)


def test_start_follow_and_read_errors(admin_api, testdata, vip_field, django_capture_on_commit_callbacks):
    response = start(admin_api, testdata, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["kind"] == "customers" and body["mode"] == "history" and body["status"] == "queued"

    status = admin_api.get(f"{URL}/{body['id']}").json()
    assert (status["status"], status["created"], status["error_rows"], status["finished"]) == ("succeeded", 3, 4, True)
    assert Customer.objects.count() == 3

    errors = admin_api.get(f"{URL}/{body['id']}/errors").json()
    assert errors["complete"] and errors["rejected_rows"] == 4
    assert {(e["line"], e["field"], e["code"]) for e in errors["items"]} == {
        (4, "name", "required"),
        (5, "phone", "invalid"),
        (7, "email", "invalid"),
        (7, "birthday", "invalid"),
        (8, "custom_fields.vip_level", "invalid"),
    }
    page = admin_api.get(f"{URL}/{body['id']}/errors?limit=2&offset=1").json()
    assert [e["line"] for e in page["items"]] == [5, 7]
    # a finished job cannot be cancelled
    cancel = admin_api.post(f"{URL}/{body['id']}/cancel")
    assert cancel.status_code == 409 and cancel.json()["errors"][0]["code"] == "finished"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "people"}, "kind"),
        ({"mode": "sometimes"}, "mode"),
        ({"channel": " "}, "channel"),
        ({"mapping": "oops"}, "mapping"),
        ({"name": "README.md"}, "file"),
    ],
)
def test_bad_input_is_refused_naming_the_field(admin_api, testdata, django_capture_on_commit_callbacks, fields, field):
    response = start(admin_api, testdata, django_capture_on_commit_callbacks, **fields)
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not ImportJob.objects.exists()


def test_a_queued_job_can_be_cancelled(admin_api, testdata, settings, django_capture_on_commit_callbacks):
    response = admin_api.post(
        URL, {"kind": "customers", "file": SimpleUploadedFile("c.csv", b"id,name\nc1,Amy\n")}
    )  # not run: its transaction's commit callbacks are not executed here
    job_id = response.json()["id"]
    cancelled = admin_api.post(f"{URL}/{job_id}/cancel").json()
    assert cancelled["status"] == "cancelled" and "nothing was imported" in cancelled["error_message"]
    assert not Customer.objects.exists()


def test_scopes_roles_and_someone_elses_errors(
    api_client_for, admin_user, make_staff, testdata, django_capture_on_commit_callbacks
):
    reader = api_client_for(admin_user, scopes=["customers:read"])
    assert start(reader, testdata, django_capture_on_commit_callbacks).status_code == 403
    analyst = api_client_for(make_staff(roles.ANALYST))
    assert start(analyst, testdata, django_capture_on_commit_callbacks).status_code == 403

    job_id = start(api_client_for(admin_user), testdata, django_capture_on_commit_callbacks).json()["id"]
    operator = api_client_for(make_staff(roles.OPERATOR))
    assert operator.get(f"{URL}/{job_id}").status_code == 200
    assert operator.get(f"{URL}/{job_id}/errors").status_code == 403
    assert operator.get(f"{URL}/999999").status_code == 404
