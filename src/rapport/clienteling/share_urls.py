"""Mounted at ``/s/``: a shared link, opened by the customer (no sign-in)."""

from django.urls import path

from rapport.clienteling import views

app_name = "shared_links"
urlpatterns = [path("<str:token>", views.open_shared_link, name="open")]
