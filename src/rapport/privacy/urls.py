from django.urls import path

from rapport.privacy import job_views, views

app_name = "privacy"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("retention/", views.retention, name="retention"),
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/<int:job_id>/retry/", job_views.retry, name="job_retry"),
    path("jobs/<int:job_id>/cancel/", job_views.cancel, name="job_cancel"),
    path("<int:request_id>/", views.request_detail, name="detail"),
    path("<int:request_id>/verify/", views.verify, name="verify"),
    path("<int:request_id>/reject/", views.reject, name="reject"),
    path("<int:request_id>/fulfil/", views.fulfil, name="fulfil"),
]
