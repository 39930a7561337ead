from django.urls import path

from rapport.events import views

app_name = "events"

urlpatterns = [
    path("", views.explorer, name="explorer"),
    path("sources/", views.source_list, name="source_list"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/<str:action>/", views.source_action, name="source_action"),
]
