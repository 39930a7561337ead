from django.urls import path

from rapport.segments import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("templates/", views.template_gallery, name="templates"),
    path("templates/<int:pk>/use/", views.use_template, name="use_template"),
    path("new/", views.builder, name="create"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/edit/", views.builder, name="edit"),
    path("<int:pk>/snapshot/", views.snapshot_now, name="snapshot"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/export/", views.export_members, name="export"),
]
