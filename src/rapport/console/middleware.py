"""Show times in the viewer's store's time zone (UTC stays the storage time zone)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class StoreTimeZoneMiddleware:
    """Store staff see their store's local time; everyone else the merchant's default zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(zoneinfo.ZoneInfo(self._zone_for(request)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _zone_for(request: HttpRequest) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from rapport.accounts.models import StaffProfile

            zone = (
                StaffProfile.objects.filter(user_id=user.pk, store__isnull=False)
                .values_list("store__time_zone", flat=True)
                .first()
            )
            if zone:
                return zone
        return settings.RAPPORT_DEFAULT_TIME_ZONE
