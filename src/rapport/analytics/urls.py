from django.urls import path

from rapport.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("loyalty/", views.loyalty, name="loyalty"),
    path("staff/", views.staff, name="staff"),
    path("reports/", views.report_builder, name="reports"),
    path("reports/save/", views.report_save, name="report_save"),
    path("reports/<int:pk>/delete/", views.report_delete, name="report_delete"),
    path("models/", views.models_page, name="models"),
    path("models/recompute/", views.recompute, name="recompute"),
]
