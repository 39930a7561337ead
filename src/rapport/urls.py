from django.contrib import admin
from django.urls import include, path

from rapport.api_routes import build_api, grouped_urls

api = build_api()
handler500 = "rapport.console.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", grouped_urls(api)),
    path("v1/", include("rapport.events.tracking_urls")),
    path("events/", include("rapport.events.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("rapport.customers.urls")),
    path("orders/", include("rapport.commerce.urls")),
    path("imports/", include("rapport.imports.urls")),
    path("stock/", include("rapport.inventory.urls")),
    path("recommendations/", include("rapport.recommendations.urls")),
    path("audit/", include("rapport.audit.urls")),
    path("tags/", include("rapport.tags.urls")),
    path("segments/", include("rapport.segments.urls")),
    path("analytics/", include("rapport.analytics.urls")),
    path("loyalty/", include("rapport.loyalty.urls")),
    path("promotions/", include("rapport.promotions.urls")),
    path("campaigns/", include("rapport.campaigns.urls")),
    path("service/", include("rapport.service.urls")),
    path("portal/privacy/", include("rapport.privacy.portal_urls")),
    path("portal/code/", include("rapport.counter.portal_urls")),
    path("portal/", include("rapport.portal.urls")),
    path("privacy/", include("rapport.privacy.urls")),
    path("counter/tasks/", include("rapport.clienteling.urls")),
    path("s/", include("rapport.clienteling.share_urls")),
    path("opportunities/", include("rapport.opportunities.urls")),
    path("counter/", include("rapport.counter.urls")),
    path("", include("rapport.console.urls")),
]
