from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase

from rapport.customers.models import Customer
from rapport.privacy.models import DataSubjectRequest

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("privacy_request", *args, stdout=out)
    return out.getvalue()


def test_an_erasure_from_the_shell_needs_verification_and_confirmation(make_customer: Any) -> None:
    customer = make_customer(name="Qian Hao", phone="13600136000")
    assert "received" in _run("receive", str(customer.pk), "--kind", "erasure", "--source", "phone")
    request = DataSubjectRequest.objects.get()
    with pytest.raises(CommandError, match="status"):
        _run("fulfil", str(request.pk), "--yes")
    _run("verify", str(request.pk), "--method", "phone_code", "--note", "code read back on the phone")
    with pytest.raises(CommandError, match="--yes"):
        _run("fulfil", str(request.pk))
    with TestCase.captureOnCommitCallbacks(execute=True):  # the erasure job, as a worker runs it
        started = _run("fulfil", str(request.pk), "--yes")
    assert "erasing" in started and "being erased by job #" in started
    assert "completed" in _run("list", "--status", "completed")
    assert Customer.objects.get(pk=customer.pk).phone == ""
    assert _run("list") == ""


def test_an_access_request_starts_the_job_building_the_copy(make_customer: Any) -> None:
    customer = make_customer(name="Sun Li")
    _run("receive", str(customer.pk), "--kind", "access", "--source", "store")
    request = DataSubjectRequest.objects.get()
    _run("verify", str(request.pk), "--method", "id_document", "--note", "ID card at the counter")
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert "being prepared by job #" in _run("fulfil", str(request.pk))
    request.refresh_from_db()
    assert request.status == "completed" and request.has_archive


def test_bad_input_names_what_to_fix(make_customer: Any) -> None:
    with pytest.raises(CommandError, match="customer_id"):
        _run("receive", "424242", "--kind", "access", "--source", "email")
    with pytest.raises(CommandError, match="request_id"):
        _run("verify", "424242", "--method", "id_document", "--note", "x")
    with pytest.raises(CommandError, match="--user"):
        _run("--user", "nobody", "list")
    customer = make_customer(name="Zhou Ping")
    _run("receive", str(customer.pk), "--kind", "access", "--source", "email")
    request = DataSubjectRequest.objects.get()
    with pytest.raises(CommandError, match="verification_note"):
        _run("verify", str(request.pk), "--method", "id_document", "--note", " ")
