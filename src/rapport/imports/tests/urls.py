"""The project's URLs, plus stand-ins for console pages of other apps that are not built yet.

The console layout links every section (customers, orders, audit). The import view tests use
this URL configuration only while one of those links has no page behind it (see the
``console_urls`` fixture in test_views.py); once every page exists they use the project's own.
"""

from django.http import HttpResponse
from django.urls import NoReverseMatch, include, path, reverse

from rapport.urls import urlpatterns as project_urlpatterns

NAV_LINKS = ["customers:list", "commerce:order_list", "audit:list"]


def _placeholder(request):
    return HttpResponse("placeholder")


def missing_nav_links(urlconf="rapport.urls"):
    missing = []
    for name in NAV_LINKS:
        try:
            reverse(name, urlconf=urlconf)
        except NoReverseMatch:
            missing.append(name)
    return missing


_missing: dict[str, list[str]] = {}
for link in missing_nav_links():
    namespace, name = link.split(":")
    _missing.setdefault(namespace, []).append(name)

urlpatterns = []
for pattern in project_urlpatterns:
    namespace = getattr(pattern, "namespace", None)
    if namespace in _missing:
        extra = [path(f"placeholder-{name}/", _placeholder, name=name) for name in _missing[namespace]]
        pattern = path(str(pattern.pattern), include(([*pattern.url_patterns, *extra], namespace)))
    urlpatterns.append(pattern)
