from django.urls import path

from rapport.recommendations import portal_views

app_name = "recommendations"

urlpatterns = [
    path("portal/for-you/", portal_views.for_you, name="portal_for_you"),
]
