"""What every API handler shares: strict bodies, the calling actor, scope checks, one error body.

Errors always look like ``{"errors": [{"field": ..., "code": ..., "message": ...}]}``. The API itself
(authentication, rate limit, which domain routers make it up) is assembled in :mod:`rapport.api_routes`;
this module knows no domain.
"""

from __future__ import annotations

import ast
import functools
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from django.conf import settings
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, model_validator
from pydantic import ValidationError as PydanticValidationError

from rapport.core.actor import Actor, Source
from rapport.core.errors import DomainError, PermissionDeniedError, kept_by_conflict

logger = logging.getLogger(__name__)


class Strict(Schema):
    """A request body that refuses fields it does not know (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


# Error statuses an operation answers that the OpenAPI document cannot infer from its shape
# (rapport.api_routes infers 404 from path ids and writes, 409 from writes): pass one of these as
# ``openapi_extra`` to the route decorator.
EXTRA_STATUSES = "x-error-statuses"
ALSO_404: dict[str, Any] = {EXTRA_STATUSES: [404]}  # a record named in the query may not exist
ALSO_409: dict[str, Any] = {EXTRA_STATUSES: [409]}  # a read the record's state refuses


class Body(BaseModel):
    """A response body (an app's ``responses.py``): its declared fields typed and documented.

    A field a handler adds before it is declared passes through unchanged (``extra="allow"``), so the
    contract can only grow; fields that only some bodies have default to None and are left out when
    absent (the routers set ``exclude_unset``). A body that breaks its contract fails the tests
    (``RAPPORT_STRICT_RESPONSES``); in production it goes out as the handler built it, with a warning,
    rather than as a 500.
    """

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="wrap")
    @classmethod
    def _as_built_unless_strict(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except PydanticValidationError as exc:
            if settings.RAPPORT_STRICT_RESPONSES or not isinstance(data, dict):
                raise
            logger.warning("a %s body breaks its contract: %s", cls.__name__, exc)
            return cls.model_construct(**data)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# ``openapi_extra`` of an operation that answers a table as a file (``?format=csv`` or ``xlsx``)
TABLE_FILE: dict[str, Any] = {
    "responses": {
        200: {
            "description": "The table as a file: CSV (UTF-8) or xlsx, as ``format`` asks",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


def actor_for(request: HttpRequest) -> Actor:
    token = getattr(request, "api_token", None)
    label = f"{request.user.get_username()} (token {token.prefix})" if token else ""
    return Actor(user=request.user, source=Source.API, label=label)


def missing_scope(scope: str) -> DomainError:
    return PermissionDeniedError.single("scope", "missing_scope", f"this token lacks the {scope!r} scope")


def require(request: HttpRequest, scope: str, *permissions: str) -> None:
    """Refuse with 403 unless the token has ``scope`` and its user holds ``permissions``."""
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise missing_scope(scope)
    missing = [p for p in permissions if not request.user.has_perm(p)]
    if missing:
        raise PermissionDeniedError.single("permission", "forbidden", f"your role lacks {', '.join(missing)}")


def scope_asked_first(view_func: Callable[..., Any]) -> str | None:
    """The scope a handler's opening ``require(request, SCOPE, ...)`` asks for, or None.

    Read from the handler's own code, so that ``require`` stays the one place a scope is named,
    while the token's scope can be checked before the request body is validated.
    """
    code = getattr(view_func, "__code__", None)
    if code is None:
        return None
    argument = _opening_requires(code.co_filename).get(code.co_firstlineno)
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return argument.value
    if isinstance(argument, ast.Name):
        value = view_func.__globals__.get(argument.id)
        return value if isinstance(value, str) else None
    return None


@functools.cache
def _opening_requires(filename: str) -> dict[int, ast.expr]:
    """For each function of a module (by its first line, decorators included): the scope argument
    of the ``require`` call among its top-level statements. One parse per module."""
    try:
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[int, ast.expr] = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for statement in function.body:
            call = statement.value if isinstance(statement, ast.Expr) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "require":
                if len(call.args) >= 2:
                    first_line = min([function.lineno, *(d.lineno for d in function.decorator_list)])
                    found[first_line] = call.args[1]
                break
    return found


def check_scope_first(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A "view" decorator for the whole API: marks the scope the operation needs before it runs.

    The bearer authentication (which runs before the body is validated) refuses a token without
    that scope, so an out-of-scope token learns nothing about the body's fields (403, not 422).
    """
    operation = getattr(inspect.unwrap(run), "__self__", None)
    scope = scope_asked_first(operation.view_func) if operation is not None else None
    if scope is None:
        return run

    @functools.wraps(run)
    def marked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.required_scope = scope  # type: ignore[attr-defined]
        return run(request, *args, **kwargs)

    return marked


def _errors(api: NinjaAPI, request: HttpRequest, status: int, errors: list[dict[str, str]]) -> HttpResponse:
    return api.create_response(request, {"errors": errors}, status=status)


def _location(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    # ninja puts the parameter name after the source ("body", "payload", "field"): keep it readable
    if len(parts) >= 2 and parts[0] == "body" and parts[1] in {"payload", "data"}:
        parts = ["body", *parts[2:]]
    if len(parts) >= 2 and parts[0] == "query" and parts[1] in {"filters", "params"}:
        parts = ["query", *parts[2:]]
    return ".".join(parts)


def install_error_handlers(api: NinjaAPI) -> None:
    """Every failure (validation, domain rule, authentication, 404, throttling) as one error body."""

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [
            {
                "field": _location(err.get("loc", [])),
                "code": str(err.get("type", "invalid")),
                "message": str(err.get("msg", "invalid value")),
            }
            for err in exc.errors
        ]
        return _errors(api, request, 422, errors)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _errors(api, request, exc.status, [e.as_dict() for e in exc.errors])

    @api.exception_handler(ProtectedError)
    def kept_by_other_records(request: HttpRequest, exc: ProtectedError) -> HttpResponse:
        # a safety net: services turn this into their own Conflict; a delete that forgot still answers 409
        return domain_error(request, kept_by_conflict(exc, "record"))

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _errors(
            api,
            request,
            401,
            [
                {
                    "field": "Authorization",
                    "code": "unauthenticated",
                    "message": "a valid bearer token is required",
                }
            ],
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _errors(api, request, 404, [{"field": "id", "code": "not_found", "message": str(exc) or "not found"}])

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = "throttled" if exc.status_code == 429 else "error"
        return _errors(api, request, exc.status_code, [{"field": "", "code": code, "message": str(exc)}])
