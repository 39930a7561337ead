from django.urls import path

from rapport.privacy import portal_views

app_name = "privacy_portal"
urlpatterns = [
    path("", portal_views.home, name="home"),
    path("copy/", portal_views.ask_for_copy, name="copy"),
    path("cancel/", portal_views.cancel_account, name="cancel"),
    path("archive/<str:token>/", portal_views.archive, name="archive"),
]
