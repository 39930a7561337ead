from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from rapport.audit.models import AuditEntry
from rapport.customers.models import ChangeRecord, Customer, Identity, identity_index_of
from rapport.imports.models import ImportJob
from rapport.imports.tests.conftest import read_report

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("import", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_cli_import_with_report(testdata, tmp_path, vip_field):
    report = tmp_path / "rejected.csv"
    out = run("customers", str(testdata / "customers_mixed.csv"), "--report", str(report))

    assert "7 rows: 3 customers created, 0 updated, 4 rows rejected" in out and "rows/s" in out
    assert "favourite colour: ignored" in out
    assert "line 4: name:" in out
    assert f"report: {report}" in out
    rows = read_report(report)
    assert [r["line"] for r in rows] == ["1", "4", "5", "7", "7", "8"]
    assert Customer.objects.count() == 3
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert entry.changes["created"] == 3 and entry.source == "import"

    again = run("customers", str(testdata / "customers_mixed.csv"))
    assert "0 customers created, 0 updated, 4 rows rejected, 3 unchanged" in again
    assert "write them all with --report PATH" in again


def test_cli_mapping_channel_and_user(tmp_path, admin_user):
    path = tmp_path / "members.csv"
    path.write_text("卡号,称呼,移动电话,备注\nA1,Amy,13812345678,vip\n", encoding="utf-8")
    out = run(
        "customers",
        str(path),
        "--map",
        "卡号=external_id,称呼=name",
        "--map",
        "移动电话=phone",
        "--map",
        "备注=-",
        "--channel",
        "taobao",
        "--user",
        "admin",
    )
    assert "1 customers created" in out
    assert "备注: ignored (ignored by the column mapping)" in out
    identity = Identity.objects.get(external_index=identity_index_of("taobao", "A1"))
    assert identity.customer.phone == "+8613812345678"
    # one audit entry for the job, none per row
    assert AuditEntry.objects.filter(actor=admin_user, action="import", object_type="imports.importjob").exists()
    assert not AuditEntry.objects.filter(object_type="customers.customer").exists()

    path.write_text("卡号,称呼,移动电话\nA1,Amy Wu,13812345678\n", encoding="utf-8")
    run("customers", str(path), "--map", "卡号=external_id,称呼=name,移动电话=phone", "--channel", "taobao")
    change = ChangeRecord.objects.get(field="name")
    job = ImportJob.objects.order_by("-pk").first()
    assert change.actor_label == f"import job #{job.pk}" and change.source == "import"


def test_cli_dry_run(testdata, vip_field):
    out = run("customers", str(testdata / "customers_mixed.csv"), "--dry-run")
    assert out.count("dry run, nothing written: 7 rows: 3 customers would be created") == 1
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customers", "/nonexistent/file.csv"], "no such file"),
        (["orders", "{testdata}/customers_mixed.csv"], "no column for the key field 'external_id' of orders"),
        (["customers", "{testdata}/customers_mixed.csv", "--map", "nonsense"], "bad mapping"),
        (["customers", "{testdata}/customers_mixed.csv", "--user", "nobody"], "no active staff user"),
        (["customers", "{testdata}/README.md"], "unknown file format"),
    ],
)
def test_cli_fails_only_for_unusable_files(testdata, args, message):
    args = [a.format(testdata=testdata) for a in args]
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_rapport_console_script_exit_codes(testdata, tmp_path):
    """The real ``rapport`` entry point: exit 0 with rejected rows, 1 for an unusable file."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    cli = [sys.executable, "-m", "rapport"]
    subprocess.run([*cli, "migrate", "-v", "0"], env=env, check=True, capture_output=True)
    ok = subprocess.run(
        [*cli, "import", "customers", str(testdata / "customers_zh.csv"), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "2 customers created, 0 updated, 1 rows rejected" in ok.stdout
    bad = subprocess.run(
        [*cli, "import", "orders", str(testdata / "customers_zh.csv")], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "no column for the key field 'external_id'" in bad.stderr


def test_cli_progress_bar_ends_at_the_rows_read(tmp_path, monkeypatch):
    """The bar starts from the lines counted (blank lines and a multi-line cell included) and
    ends at the rows the file had."""
    import importlib

    command = importlib.import_module("rapport.imports.management.commands.import")

    bars = []

    class Bar(command.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(command, "tqdm", Bar)
    path = tmp_path / "products.csv"
    path.write_text('sku,name,price\n\nA-1,"one\ntwo",9.90\n\nA-2,three,5\n', encoding="utf-8")
    call_command("import", "products", str(path), stdout=StringIO(), stderr=StringIO())
    assert [(bar.total, bar.n) for bar in bars] == [(2, 2)]
