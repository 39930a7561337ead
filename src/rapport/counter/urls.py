from django.urls import path

from rapport.counter import views

app_name = "counter"
urlpatterns = [
    path("", views.home, name="home"),
    path("enrol/", views.enrol, name="enrol"),
    path("offline/", views.offline, name="offline"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("m/<str:token>/", views.member, name="member"),
    path("m/<str:token>/redeem/", views.redeem, name="redeem"),
    path("m/<str:token>/redemptions/<int:redemption_id>/reverse/", views.reverse_redemption, name="reverse"),
    path("m/<str:token>/sale/", views.sale, name="sale"),
    path("m/<str:token>/return/", views.take_return, name="return"),
    path("m/<str:token>/top-up/", views.top_up, name="top_up"),
    path("m/<str:token>/goodwill/", views.give_goodwill, name="goodwill"),
]
