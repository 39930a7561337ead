from django.urls import path

from rapport.promotions import views

app_name = "promotions"
urlpatterns = [
    path("", views.promotion_list, name="list"),
    path("new/", views.promotion_edit, name="new"),
    path("preview/", views.preview, name="preview"),
    path("<int:pk>/", views.promotion_report, name="report"),
    path("<int:pk>/edit/", views.promotion_edit, name="edit"),
]
