"""The REST API root: authentication, scope checks, and one error body for every failure.

Errors always look like ``{"errors": [{"field": ..., "code": ..., "message": ...}]}``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import AuthRateThrottle
from pydantic import ConfigDict

from rapport.accounts.models import ApiToken
from rapport.accounts.services import authenticate_token
from rapport.core.actor import Actor, Source
from rapport.core.errors import DomainError, PermissionDeniedError


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = authenticate_token(token)
        if api_token is not None:
            request.user = api_token.user
            request.api_token = api_token  # type: ignore[attr-defined]
        return api_token


class StaffSession(SessionAuth):
    """The console's own pages call the API with the signed-in session (CSRF checked)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None  # type: ignore[attr-defined]
        return user


class Strict(Schema):
    """A request body that refuses fields it does not know (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


def actor_for(request: HttpRequest) -> Actor:
    token = getattr(request, "api_token", None)
    label = f"{request.user.get_username()} (token {token.prefix})" if token else ""
    return Actor(user=request.user, source=Source.API, label=label)


def require(request: HttpRequest, scope: str, *permissions: str) -> None:
    """Refuse with 403 unless the token has ``scope`` and its user holds ``permissions``."""
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDeniedError.single("scope", "missing_scope", f"this token lacks the {scope!r} scope")
    missing = [p for p in permissions if not request.user.has_perm(p)]
    if missing:
        raise PermissionDeniedError.single("permission", "forbidden", f"your role lacks {', '.join(missing)}")


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


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="Rapport API",
        version="1",
        description="Customers, commerce and more. Authenticate with `Authorization: Bearer <token>`.",
        urls_namespace="api",
        docs_url="/docs",
        auth=[BearerToken(), StaffSession()],
        throttle=[AuthRateThrottle("600/m")],
    )

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

    from rapport.api_routes import register_routers
    from rapport.core.inputs import install_api_handlers

    install_api_handlers(api)

    register_routers(api)
    return api
