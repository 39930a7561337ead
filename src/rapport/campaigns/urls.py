from django.urls import path

from rapport.campaigns import public_views

app_name = "campaigns"

urlpatterns = [
    path("t/o/<str:token>.gif", public_views.track_open, name="track_open"),
    path("t/c/<str:token>/", public_views.track_click, name="track_click"),
    path("u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
]
