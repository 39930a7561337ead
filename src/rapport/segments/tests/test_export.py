"""Exports: masked for roles without reveal, plaintext and audited for those with it."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from rapport.accounts import roles
from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor
from rapport.segments import export, services

pytestmark = pytest.mark.django_db


def _csv(segment, actor):
    members = services.segment_members(segment, actor=actor)
    reveal = export.start_export(segment, members, actor=actor, file_format="csv")
    text = "".join(export.csv_chunks(members, reveal=reveal)).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_operator_export_is_masked_and_not_a_reveal(shanghai, make_staff):
    rows = _csv(shanghai, Actor(user=make_staff(roles.OPERATOR)))
    amy = next(r for r in rows if r["name"] == "Amy")
    assert amy["phone"] == "+86 139****5678" or "****" in amy["phone"]
    assert "13912345678" not in amy["phone"] and amy["email"] != "amy@example.com"
    assert (amy["order_count"], amy["net_spent"], amy["store"]) == ("2", "200.00", "sh-01")
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_admin_export_is_plaintext_and_audited(shanghai, admin_user):
    rows = _csv(shanghai, Actor(user=admin_user))
    amy = next(r for r in rows if r["name"] == "Amy")
    assert amy["email"] == "amy@example.com" and amy["phone"].endswith("13912345678")
    entry = AuditEntry.objects.get(action="reveal", object_id=str(shanghai.pk))
    assert entry.changes == {"fields": ["phone", "email"], "export": "csv", "rows": 2}


def test_xlsx_has_a_header_and_one_row_per_member(shanghai, make_staff):
    members = services.segment_members(shanghai)
    workbook = load_workbook(export.xlsx_file(members, reveal=False), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0] == tuple(export.HEADER)
    assert sorted(r[1] for r in rows[1:]) == ["Amy", "Cai"]
