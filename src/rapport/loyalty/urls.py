from django.urls import path

from rapport.loyalty import views

app_name = "loyalty"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("settings/<slug:kind>/new/", views.config_edit, name="config_new"),
    path("settings/<slug:kind>/<int:pk>/", views.config_edit, name="config_edit"),
    path("coupons/<int:pk>/", views.coupon_template, name="coupon_template"),
    path("coupons/<int:pk>/codes/", views.generate_codes, name="generate_codes"),
    path("coupons/<int:pk>/issue/", views.issue_to_segment, name="issue_to_segment"),
    path("customers/<int:customer_id>/adjust/", views.adjust, name="adjust"),
    path("customers/<int:customer_id>/coupons/", views.issue_coupon, name="issue_coupon"),
    path("customers/<int:customer_id>/coupons/<int:coupon_id>/void/", views.void_coupon, name="void_coupon"),
    path("customers/<int:customer_id>/cards/", views.grant_card, name="grant_card"),
]
