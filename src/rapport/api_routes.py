"""Which domain routers make up ``/api/v1``. Each domain app owns its ``api.py``."""

from __future__ import annotations

from ninja import NinjaAPI


def register_routers(api: NinjaAPI) -> None:
    from rapport.analytics.api import router as analytics_router
    from rapport.audit.api import router as audit_router
    from rapport.campaigns.api import router as campaigns_router
    from rapport.commerce.api import router as commerce_router
    from rapport.customers.api import router as customers_router
    from rapport.events.api import router as events_router
    from rapport.imports.api import router as imports_router
    from rapport.loyalty.api import router as loyalty_router
    from rapport.segments.api import router as segments_router
    from rapport.service.api import router as service_router
    from rapport.tags.api import router as tags_router

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
    api.add_router("/v1/", imports_router)
