from django.urls import path

from rapport.privacy import views

app_name = "privacy"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("retention/", views.retention, name="retention"),
    path("<int:request_id>/", views.request_detail, name="detail"),
    path("<int:request_id>/verify/", views.verify, name="verify"),
    path("<int:request_id>/reject/", views.reject, name="reject"),
    path("<int:request_id>/fulfil/", views.fulfil, name="fulfil"),
]
