from django.urls import path

from rapport.portal import member_views, views

app_name = "portal"
urlpatterns = [
    path("", member_views.home, name="home"),
    path("history/", member_views.history, name="history"),
    path("coupons/", member_views.coupon_list, name="coupons"),
    path("coupons/<int:template_id>/claim/", member_views.claim_coupon, name="claim_coupon"),
    path("level/", member_views.level, name="level"),
    path("preferences/", member_views.preferences, name="preferences"),
    path("preferences/stop-marketing/", member_views.stop_marketing, name="stop_marketing"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.verify, name="verify"),
    path("sign-out/", views.sign_out, name="sign_out"),
]
