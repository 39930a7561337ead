"""The REST API ``/api``: its authentication, rate limit and error body, and the domain routers in it.

Each domain app owns its ``api.py``; this module is where they are put together (the kernel,
:mod:`rapport.core.api`, knows no domain).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from ninja import NinjaAPI
from ninja.throttling import AuthRateThrottle

from rapport.accounts.auth import BearerToken, StaffSession
from rapport.analytics.api import router as analytics_router
from rapport.audit.api import router as audit_router
from rapport.campaigns.api import router as campaigns_router
from rapport.commerce.api import router as commerce_router
from rapport.core.api import check_scope_first, install_error_handlers
from rapport.core.inputs import install_api_handlers
from rapport.customers.api import router as customers_router
from rapport.events.api import router as events_router
from rapport.imports.api import router as imports_router
from rapport.inventory.api import router as inventory_router
from rapport.loyalty.api import router as loyalty_router
from rapport.privacy.api import router as privacy_router
from rapport.recommendations.api import router as recommendations_router
from rapport.segments.api import router as segments_router
from rapport.service.api import router as service_router
from rapport.tags.api import router as tags_router

THROTTLED = {
    "description": "Too many requests: more than RAPPORT_API_RATE_LIMIT a minute for this token; try again later",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string"},
                                "code": {"type": "string", "enum": ["throttled"]},
                                "message": {"type": "string"},
                            },
                        },
                    }
                },
            }
        }
    },
}


class RapportAPI(NinjaAPI):
    """django-ninja's API with the rate limit's 429 in every operation's documented responses."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation.setdefault("responses", {}).setdefault(429, THROTTLED)
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
    api.add_router("/v1/", segments_router)
    api.add_router("/v1/", analytics_router)
    api.add_router("/v1/", loyalty_router)
    api.add_router("/v1/", campaigns_router)
    api.add_router("/v1/", service_router)
    api.add_router("/v1/", privacy_router)
    api.add_router("/v1/", imports_router)
    api.add_router("/v1/", inventory_router)
    api.add_router("/v1/", recommendations_router)


def build_api() -> NinjaAPI:
    api = new_api()
    register_routers(api)
    return api
