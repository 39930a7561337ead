from django.urls import path

from rapport.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/progress/", views.job_progress, name="progress"),
    path("<int:pk>/report/", views.job_report, name="report"),
    path("<int:pk>/cancel/", views.job_cancel, name="cancel"),
]
