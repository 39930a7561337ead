from django.urls import path

from rapport.tags import views

app_name = "tags"

urlpatterns = [
    path("", views.tag_list, name="list"),
    path("new/", views.tag_create, name="create"),
    path("<int:pk>/", views.tag_detail, name="detail"),
    path("<int:pk>/evaluate/", views.tag_evaluate, name="evaluate"),
    path("categories/<int:pk>/delete/", views.category_delete, name="category_delete"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<slug:key>/apply/", views.template_apply, name="template_apply"),
    path("batch/", views.batch, name="batch"),
    path("batch/file/", views.batch_file, name="batch_file"),
    path("batch/segment/", views.batch_segment, name="batch_segment"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("sync/", views.sync, name="sync"),
    path("sync/endpoints/<int:pk>/toggle/", views.endpoint_toggle, name="endpoint_toggle"),
    path("sync/dead-letters/retry/", views.retry, name="retry_all"),
    path("sync/dead-letters/<int:pk>/retry/", views.retry, name="retry"),
    path("customers/<int:customer_pk>/add/", views.customer_add, name="customer_add"),
    path("customers/<int:customer_pk>/remove/<int:tag_pk>/", views.customer_remove, name="customer_remove"),
]
