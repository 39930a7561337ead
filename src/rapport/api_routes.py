"""The REST API ``/api``: its authentication, rate limit and error body, and the domain routers in it.

Each domain app owns its ``api.py``; this module is where they are put together (the kernel,
:mod:`rapport.core.api`, knows no domain).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.urls import include, re_path
from ninja import NinjaAPI
from ninja.throttling import AuthRateThrottle

from rapport.accounts.auth import BearerToken, StaffSession
from rapport.analytics.api import router as analytics_router
from rapport.analytics.errors import AnalyticsErrorCode
from rapport.audit.api import router as audit_router
from rapport.audit.errors import AuditErrorCode
from rapport.campaigns.api import router as campaigns_router
from rapport.campaigns.errors import CampaignsErrorCode
from rapport.clienteling.api import router as clienteling_router
from rapport.clienteling.errors import ClientelingErrorCode
from rapport.commerce.api import router as commerce_router
from rapport.commerce.errors import CommerceErrorCode
from rapport.core.api import EXTRA_STATUSES, check_scope_first, install_error_handlers
from rapport.core.errors import CoreErrorCode
from rapport.core.inputs import install_api_handlers
from rapport.counter.api import router as counter_router
from rapport.counter.errors import CounterErrorCode
from rapport.customers.api import router as customers_router
from rapport.customers.errors import CustomersErrorCode
from rapport.events.api import router as events_router
from rapport.events.errors import EventsErrorCode
from rapport.imports.api import router as imports_router
from rapport.imports.errors import ImportsErrorCode
from rapport.inventory.api import router as inventory_router
from rapport.inventory.errors import InventoryErrorCode
from rapport.loyalty.api import router as loyalty_router
from rapport.loyalty.errors import LoyaltyErrorCode
from rapport.opportunities.api import router as opportunities_router
from rapport.opportunities.errors import OpportunitiesErrorCode
from rapport.privacy.api import router as privacy_router
from rapport.privacy.errors import PrivacyErrorCode
from rapport.promotions.api import router as promotions_router
from rapport.promotions.errors import PromotionErrorCode
from rapport.recommendations.api import router as recommendations_router
from rapport.recommendations.errors import RecommendationsErrorCode
from rapport.segments.api import router as segments_router
from rapport.segments.errors import SegmentsErrorCode
from rapport.service.api import router as service_router
from rapport.service.errors import ServiceErrorCode
from rapport.tags.api import router as tags_router
from rapport.tags.errors import TagsErrorCode

ERROR_CODES: dict[str, type[StrEnum]] = {
    "analytics": AnalyticsErrorCode,
    "audit": AuditErrorCode,
    "campaigns": CampaignsErrorCode,
    "clienteling": ClientelingErrorCode,
    "opportunities": OpportunitiesErrorCode,
    "commerce": CommerceErrorCode,
    "counter": CounterErrorCode,
    "customers": CustomersErrorCode,
    "events": EventsErrorCode,
    "imports": ImportsErrorCode,
    "inventory": InventoryErrorCode,
    "loyalty": LoyaltyErrorCode,
    "privacy": PrivacyErrorCode,
    "promotions": PromotionErrorCode,
    "recommendations": RecommendationsErrorCode,
    "segments": SegmentsErrorCode,
    "service": ServiceErrorCode,
    "tags": TagsErrorCode,
}
ERROR_STATUSES = {
    400: "The request breaks a business rule",
    401: "No valid bearer token or staff session",
    403: "The token lacks the scope, or the user the permission",
    404: "No such record, or not one you can see (in the path, or named in the body)",
    409: "The record is in a state, or is kept by other records, that refuses this",
    413: "The upload is too large",
    422: "Invalid input: each error names the field",
    429: "Too many requests: more than RAPPORT_API_RATE_LIMIT a minute for this token; try again later",
}
_WRITES = {"post", "put", "patch", "delete"}
VALIDATION_CODE = {
    "type": "string",
    "description": "a request validation type (missing, int_parsing, extra_forbidden …)",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_body(code: dict[str, Any]) -> dict[str, Any]:
    item = {
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {"field": {"type": "string"}, "code": code, "message": {"type": "string"}},
    }
    return {"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "items": item}}}


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer, from what it takes: who calls, path ids, input, writes."""
    statuses = {403, 429}
    if operation.get("security"):
        statuses.add(401)
    if "{" in path or method in _WRITES:
        statuses.add(404)  # a record in the path, or one the body names (a customer, a segment …)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if method in _WRITES:
        statuses |= {400, 409}
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        statuses.add(413)
    # what the rules above cannot see, declared by the operation (``core.api.ALSO_404`` …)
    statuses |= set(operation.pop(EXTRA_STATUSES, []))
    return sorted(statuses)


def document_errors(schema: dict[str, Any]) -> None:
    """Each operation's error responses, their bodies naming its domain's error codes (``<Domain>ErrorCode``)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["CoreErrorCode"] = {"type": "string", "enum": [c.value for c in CoreErrorCode], "title": "CoreErrorCode"}
    for codes in ERROR_CODES.values():
        title = codes.__name__
        components[title] = {"type": "string", "enum": [c.value for c in codes], "title": title}
        either = {"anyOf": [_ref(title), _ref("CoreErrorCode")]}
        components[title.removesuffix("Code") + "s"] = _error_body(either)
        components[title.removesuffix("ErrorCode") + "InputErrors"] = _error_body(
            {"anyOf": [_ref(title), _ref("CoreErrorCode"), VALIDATION_CODE]}
        )
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            domain = operation.get("operationId", "").split("_")[1:2]
            own_codes = ERROR_CODES.get(domain[0] if domain else "")
            prefix = own_codes.__name__.removesuffix("ErrorCode") if own_codes else ""
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(path, method, operation):
                body = f"{prefix}InputErrors" if status == 422 else f"{prefix}Errors"
                responses.setdefault(
                    status,
                    {
                        "description": ERROR_STATUSES[status],
                        "content": {
                            "application/json": {
                                "schema": _ref(body) if own_codes else _error_body(_ref("CoreErrorCode"))
                            }
                        },
                    },
                )


class RapportAPI(NinjaAPI):
    """django-ninja's API with every operation's error responses documented (rate limit included)."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        document_errors(schema)
        return schema


def rate_limit() -> str:
    """Requests a minute per token (benchmarks and the fuzzing run set RAPPORT_API_RATE_LIMIT high)."""
    return f"{settings.RAPPORT_API_RATE_LIMIT}/m"


def new_api() -> NinjaAPI:
    """The API with no routes yet: who may call it, how often, and the one error body."""
    api = RapportAPI(
        title="Rapport API",
        version="1",
        description="Customers, commerce and more. Authenticate with `Authorization: Bearer <token>`.",
        urls_namespace="api",
        docs_url="/docs",
        auth=[BearerToken(), StaffSession()],
        throttle=[AuthRateThrottle(rate_limit())],
    )
    install_error_handlers(api)
    install_api_handlers(api)
    api.add_decorator(check_scope_first, mode="view")
    return api


def register_routers(api: NinjaAPI) -> None:
    api.add_router("/v1/", customers_router)
    api.add_router("/v1/", commerce_router)
    api.add_router("/v1/", events_router)
    api.add_router("/v1/", audit_router)
    api.add_router("/v1/", tags_router)
    api.add_router("/v1/", promotions_router)
    api.add_router("/v1/", segments_router)
    api.add_router("/v1/", analytics_router)
    api.add_router("/v1/", loyalty_router)
    api.add_router("/v1/", campaigns_router)
    api.add_router("/v1/", service_router)
    api.add_router("/v1/", privacy_router)
    api.add_router("/v1/", imports_router)
    api.add_router("/v1/", counter_router)
    api.add_router("/v1/", clienteling_router)
    api.add_router("/v1/", opportunities_router)
    api.add_router("/v1/", inventory_router)
    api.add_router("/v1/", recommendations_router)


def build_api() -> NinjaAPI:
    api = new_api()
    register_routers(api)
    return api


def grouped_urls(api: NinjaAPI) -> tuple[list[Any], str, str]:
    """The API's URL patterns grouped by their first segment under ``v1/`` (customers, products …).

    django-ninja lists every route flat, and Django tries them in order: a shop's call near the end
    of the list paid for some 200 failed matches. Each group is a resolver whose pattern is a
    look-ahead on its segment (it consumes nothing, so the routes and their reversing are unchanged):
    a path now tries the groups, then its own group's routes. A path's first segment is literal in
    every route, so no route of another group could have matched it: which route answers is the same.
    """
    patterns, app_name, namespace = api.urls
    groups: dict[str, list[Any]] = {}
    flat: list[Any] = []
    for pattern in patterns:
        route = str(pattern.pattern)
        segment = route.split("/")[1] if route.startswith("v1/") and "/" in route else ""
        if not segment or "<" in segment:
            flat.append(pattern)
        else:
            groups.setdefault(segment, []).append(pattern)
    for segment, members in groups.items():
        flat.append(re_path(rf"^(?=v1/{re.escape(segment)}(?:/|$))", include(members)))
    return flat, app_name, namespace
