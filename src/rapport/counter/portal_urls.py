from django.urls import path

from rapport.counter import portal_views

app_name = "counter_portal"
urlpatterns = [
    path("", portal_views.member_code, name="code"),
    path("fresh/", portal_views.fresh_code, name="fresh"),
]
