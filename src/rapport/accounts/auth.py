"""How an API request says who it is: a bearer token, or the console's signed-in session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from rapport.accounts.models import ApiToken
from rapport.accounts.services import authenticate_token
from rapport.core.api import missing_scope


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        # the operation's scope (see rapport.core.api.check_scope_first), before its body is read
        scope = getattr(request, "required_scope", None)
        if scope is not None and scope not in api_token.scopes:
            raise missing_scope(scope)
        return api_token


class StaffSession(SessionAuth):
    """The console's own pages call the API with the signed-in session (CSRF checked)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None  # type: ignore[attr-defined]
        return user
