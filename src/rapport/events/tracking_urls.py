"""Mounted at ``/v1/``, where Segment and RudderStack clients post."""

from django.urls import path

from rapport.events import tracking

urlpatterns = [
    path("identify", tracking.identify, name="tracking-identify"),
    path("track", tracking.track, name="tracking-track"),
    path("page", tracking.page, name="tracking-page"),
    path("screen", tracking.screen, name="tracking-screen"),
    path("alias", tracking.alias, name="tracking-alias"),
    path("group", tracking.group, name="tracking-group"),
    path("batch", tracking.batch, name="tracking-batch"),
    path("import", tracking.batch, name="tracking-import"),
]
