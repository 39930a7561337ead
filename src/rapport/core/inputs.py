"""Input no field may hold, refused once at the edge for every entry point.

PostgreSQL's text and JSON types cannot store the NUL character, so a ``\\x00`` anywhere in a
query string, form post or JSON body would reach some query or insert and fail there as a 500.
:class:`RejectNulMiddleware` looks at every string a request carries before any view sees it
and answers 4xx naming the field: the uniform error body on the REST API, the tracking API's
own refusal on ``/v1/``, and the console's styled 400 page everywhere else.
:func:`install_api_handlers` turns the database's refusal of a null into a 422 naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja import NinjaAPI

API_PREFIX = "/api/"
TRACKING_PREFIX = "/v1/"
_JSON_NUL = (b"\\u0000", b"\x00")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return inner
            if (found := nul_path(item, inner)) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_path(item, f"{path}.{index}" if path else str(index))) is not None:
                return found
    return None


def _in_params(params: QueryDict, prefix: str) -> str | None:
    for key, values in params.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return prefix + key.replace("\x00", "\\u0000")
    return None


def _in_json_body(request: HttpRequest, prefix: str) -> str | None:
    if "json" not in (request.content_type or "") or not any(marker in request.body for marker in _JSON_NUL):
        return None
    try:
        data = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        return None  # the view refuses malformed JSON with its own message
    found = nul_path(data)
    return None if found is None else prefix + found.replace("\x00", "\\u0000")


def _in_form(request: HttpRequest, prefix: str) -> str | None:
    if request.method not in ("POST", "PUT", "PATCH") or request.content_type not in FORM_TYPES:
        return None
    try:
        return _in_params(request.POST, prefix)
    except MultiPartParserError:
        return None  # an unreadable form: the view answers it (its fields are missing)


def nul_field(request: HttpRequest) -> str | None:
    """Where the request carries a NUL character, named as its entry point names fields."""
    api = request.path.startswith(API_PREFIX)
    tracking = request.path.startswith(TRACKING_PREFIX)
    checks: Iterable[Callable[[], str | None]] = (
        lambda: _in_params(request.GET, "query." if api else ""),
        # the tracking API reads (and decompresses) its own body and names the message at fault
        lambda: None if tracking else _in_json_body(request, "body." if api else ""),
        lambda: None if tracking else _in_form(request, "form." if api else ""),
    )
    for check in checks:
        if (found := check()) is not None:
            return found
    return None


class RejectNulMiddleware:
    """Refuse any request whose query string, form or JSON body holds a NUL character."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = nul_field(request)
        if field is None:
            return self.get_response(request)
        message = _("text may not contain the NUL character (\\u0000)")
        error = {"field": field, "code": "invalid", "message": message}
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"errors": [error]}, status=422)
        if request.path.startswith(TRACKING_PREFIX):
            return JsonResponse({"code": "invalid_request", "message": message, "errors": [error]}, status=400)
        return render(request, "400.html", {"field": field, "reason": message}, status=400)


def _not_null_column(exc: IntegrityError) -> str | None:
    """The column a NOT NULL violation names (PostgreSQL's diagnostics, SQLite's message)."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None and getattr(cause, "sqlstate", "") == "23502":
        return str(diag.column_name or "") or None
    match = re.match(r"NOT NULL constraint failed: \w+\.(\w+)", str(exc))
    return match.group(1) if match else None


def install_api_handlers(api: NinjaAPI) -> None:
    """Answer the API's input the database refuses with 422 naming the field, not a 500.

    A partial update (PATCH) gives its fields as optional, so ``{"is_online": null}`` passes the
    schema and reaches a column that cannot be empty; the service's transaction has rolled back
    by the time the handler runs. Other integrity errors are not the caller's input: they stay 500s.
    """

    def null_for_required_column(request: HttpRequest, exc: IntegrityError | type[IntegrityError]) -> HttpResponse:
        column = _not_null_column(exc) if isinstance(exc, IntegrityError) else None
        if column is None:
            raise exc
        error = {"field": f"body.{column}", "code": "null", "message": _("this field cannot be null")}
        return api.create_response(request, {"errors": [error]}, status=422)

    api.add_exception_handler(IntegrityError, null_for_required_column)
