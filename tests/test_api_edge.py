"""The assembled API's edge: scope checked before the body, the configured rate limit, 429 documented."""

from __future__ import annotations

import pytest
from django.test import override_settings

from rapport import api_routes
from rapport.accounts import roles
from rapport.accounts.scopes import CUSTOMERS_READ, TAGS_READ
from rapport.core.api import require, scope_asked_first
from rapport.urls import api

JSON = "application/json"
pytestmark = pytest.mark.django_db
SCOPE = "things:write"  # handlers name their scope by a module constant


def test_an_out_of_scope_token_gets_403_before_its_body_is_validated(make_staff, api_client_for):
    narrow = api_client_for(make_staff(roles.ADMIN), scopes=[CUSTOMERS_READ])
    response = narrow.post("/api/v1/tags", {"no_such_field": 1, "name": ""}, content_type=JSON)
    assert response.status_code == 403
    assert response.json() == {
        "errors": [{"field": "scope", "code": "missing_scope", "message": "this token lacks the 'tags:write' scope"}]
    }
    # with the scope the same body is judged on its fields
    wide = api_client_for(make_staff(roles.ADMIN))
    invalid = wide.post("/api/v1/tags", {"no_such_field": 1, "name": ""}, content_type=JSON)
    assert invalid.status_code == 422


def test_a_read_scope_still_reads_and_a_post_that_only_reads_needs_only_the_read_scope(make_staff, api_client_for):
    reader = api_client_for(make_staff(roles.ADMIN), scopes=[TAGS_READ])
    assert reader.get("/api/v1/tags").status_code == 200
    preview = reader.post("/api/v1/tag-rules/preview", {"rules": {"all": []}}, content_type=JSON)
    assert preview.status_code != 403


def test_every_authenticated_operation_names_the_scope_it_checks_first():
    missing = [
        (path, operation.view_func.__name__)
        for bound in api._get_bound_routers()
        for path, view in bound.path_operations.items()
        for operation in view.operations
        if operation.auth_callbacks and scope_asked_first(operation.view_func) is None
    ]
    assert missing == []


def test_the_scope_is_read_from_the_opening_require_call():
    def handler(request, payload):
        require(request, SCOPE, "app.change_thing")
        return payload

    def literal(request):
        require(request, "things:read")

    def unguarded(request):
        return None

    assert scope_asked_first(handler) == "things:write"
    assert scope_asked_first(literal) == "things:read"
    assert scope_asked_first(unguarded) is None


def test_the_rate_limit_follows_the_setting():
    with override_settings(RAPPORT_API_RATE_LIMIT=2):
        assert [throttle.rate for throttle in api_routes.new_api().throttle] == ["2/m"]
    assert [throttle.rate for throttle in api.throttle] == ["600/m"]  # the default


def test_429_is_documented_on_every_operation():
    schema = api.get_openapi_schema()
    operations = [op for methods in schema["paths"].values() for op in methods.values()]
    assert operations and all(429 in op["responses"] for op in operations)
