from __future__ import annotations

from django.test import RequestFactory

from rapport.core.actor import Source
from rapport.core.errors import DomainError, FieldError
from rapport.core.requests import console_actor, error_text


def test_console_actor_is_the_signed_in_user_through_the_console(admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    actor = console_actor(request)
    assert actor.user == admin_user and actor.source == Source.CONSOLE


def test_error_text_names_each_field_and_leaves_out_an_empty_one():
    exc = DomainError([FieldError("name", "required", "give a name"), FieldError("", "busy", "try later")])
    assert error_text(exc) == "name: give a name; try later"
