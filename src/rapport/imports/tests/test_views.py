import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.customers.models import Customer
from rapport.imports.models import ImportJob
from rapport.imports.tests.conftest import read_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Uploads and reports go to a temporary data folder."""
    settings.DATA_DIR = tmp_path
    settings.RAPPORT_DATA_DIR = tmp_path


def login(client, user):
    assert client.login(username=user.get_username(), password="rapport-test-pw")
    return client


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST to the import page; the job starts when the request's transaction commits."""

    def send(data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("imports:list"), data)

    return send


@pytest.fixture
def upload(post, testdata):
    def send(name="customers_mixed.csv", **fields):
        with open(testdata / name, "rb") as handle:
            data = {
                "kind": "customers",
                "channel": "import",
                "mapping": "",
                "file": SimpleUploadedFile(name, handle.read()),
            }
        data.update(fields)
        return post(data)

    return send


def test_operator_uploads_a_file_and_downloads_the_report(client, make_staff, upload, tmp_path, vip_field):
    operator = make_staff(roles.OPERATOR)
    login(client, operator)
    page = client.get(reverse("imports:list"))
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content

    response = upload()

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:detail", args=[job.pk])
    # Jobs run inline in tests, so the job is done by now.
    assert (job.status, job.kind, job.original_name, job.created_by) == (
        "succeeded",
        "customers",
        "customers_mixed.csv",
        operator,
    )
    assert (job.total_rows, job.processed_rows, job.created_rows, job.updated_rows, job.error_rows) == (7, 7, 3, 0, 4)
    assert job.file_path.startswith(str(tmp_path / "imports"))
    assert Customer.objects.count() == 3

    detail = client.get(response["Location"])
    assert detail.status_code == 200
    report_url = reverse("imports:report", args=[job.pk])
    assert report_url.encode() in detail.content
    assert b"favourite colour" in detail.content  # the ignored column

    progress = client.get(reverse("imports:progress", args=[job.pk])).json()
    assert progress["finished"] and progress["percent"] == 100 and progress["error_rows"] == 4
    assert progress["report_url"] == report_url

    download = client.get(report_url)
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    lines = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("line,field,code,message,customer_id,name")
    assert sum(1 for line in lines[1:] if line.startswith("5,phone,invalid")) == 1
    assert AuditEntry.objects.filter(action="reveal", object_type="imports.importjob").count() == 1
    assert AuditEntry.objects.filter(action="import", object_id=str(job.pk), actor=operator).count() == 1

    listing = client.get(reverse("imports:list"))
    assert b"customers_mixed.csv" in listing.content


def test_upload_with_mapping_and_chinese_file(client, admin_user, upload):
    login(client, admin_user)
    upload(name="customers_gb18030.csv", mapping="城市=-\n性别 = gender", channel="pos")
    job = ImportJob.objects.get()
    assert job.mapping == {"城市": "-", "性别": "gender"} and job.channel == "pos"
    assert (job.status, job.created_rows, job.error_rows) == ("succeeded", 2, 1)
    assert read_report(job.report_path)[0]["field"] == "城市"


def test_a_file_that_cannot_be_used_fails_the_job_with_the_reason(client, admin_user, post):
    login(client, admin_user)
    data = {
        "kind": "orders",
        "channel": "import",
        "file": SimpleUploadedFile("orders.csv", "客户,金额\nc1,10\n".encode()),
    }
    response = post(data)
    job = ImportJob.objects.get()
    assert job.status == "failed" and "external_id" in job.error_message
    detail = client.get(response["Location"])
    assert "订单号" in detail.content.decode()
    assert json.loads(client.get(reverse("imports:progress", args=[job.pk])).content)["status"] == "failed"


def test_the_form_refuses_bad_input(client, admin_user):
    login(client, admin_user)
    bad_type = client.post(
        reverse("imports:list"),
        {"kind": "customers", "channel": "import", "file": SimpleUploadedFile("x.json", b"{}")},
    )
    assert bad_type.status_code == 200 and "csv" in bad_type.content.decode()
    bad_map = client.post(
        reverse("imports:list"),
        {"kind": "customers", "channel": "import", "mapping": "oops", "file": SimpleUploadedFile("x.csv", b"id\n1\n")},
    )
    assert bad_map.status_code == 200 and "bad mapping" in bad_map.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("role", [roles.ANALYST, roles.SALES, roles.STORE_STAFF, roles.SERVICE_AGENT])
def test_roles_without_import_rights_are_refused(client, make_staff, upload, role):
    login(client, make_staff(role))
    assert client.get(reverse("imports:list")).status_code == 403
    assert upload().status_code == 403
    assert not ImportJob.objects.exists() and not Customer.objects.exists()


def test_report_of_someone_elses_import_needs_the_reveal_permission(client, make_staff, admin_user, upload, vip_field):
    login(client, admin_user)
    upload()
    job = ImportJob.objects.get()
    other = make_staff(roles.OPERATOR)
    client.logout()
    login(client, other)
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 200
    assert client.get(reverse("imports:report", args=[job.pk])).status_code == 403


def test_login_required(client):
    response = client.get(reverse("imports:list"))
    assert response.status_code == 302 and "login" in response["Location"]
