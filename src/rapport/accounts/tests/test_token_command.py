"""``rapport token``: create prints a working token once; bad input names the field."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from rapport.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_list_and_revoke(admin_user):
    plaintext, note = run("create", "--user", "admin", "--name", "web shop", "--scope", "customers:read")
    assert plaintext.startswith("rpt_") and "not shown again" in note
    client = Client(headers={"Authorization": f"Bearer {plaintext}"})
    assert client.get("/api/v1/customers").status_code == 200
    assert client.get("/api/v1/orders").status_code == 403

    prefix = ApiToken.objects.get().prefix
    listing, _ = run("list")
    assert prefix in listing and "active" in listing and plaintext.split("_", 2)[2] not in listing
    run("revoke", prefix)
    assert client.get("/api/v1/customers").status_code == 401
    assert "revoked" in run("list")[0]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["create", "--user", "ghost", "--name", "x", "--scope", "customers:read"], "user"),
        (["create", "--user", "admin", "--name", "x", "--scope", "everything"], "scopes"),
        (["create", "--user", "admin", "--name", " ", "--scope", "customers:read"], "name"),
        (["create", "--user", "admin", "--name", "x"], "scopes"),
        (["create", "--user", "admin", "--name", "x", "--scope", "audit:read", "--expires-in-days", "0"], "expires"),
        (["revoke", "nope"], "prefix"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(admin_user, args, field):
    with pytest.raises(CommandError, match=field):
        run(*args)
    assert not ApiToken.objects.exists()
