from django.urls import path

from rapport.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("merges/", views.merge_suggestions, name="merge_suggestions"),
    path("merges/scan/", views.scan_merges, name="scan_merges"),
    path("merges/<int:pk>/", views.decide_merge, name="decide_merge"),
    path("settings/stores/", views.store_list, name="store_list"),
    path("settings/stores/new/", views.store_edit, name="store_create"),
    path("settings/stores/<int:pk>/", views.store_edit, name="store_edit"),
    path("settings/stores/<int:pk>/active/", views.store_set_active, name="store_set_active"),
    path("settings/custom-fields/", views.custom_field_list, name="custom_field_list"),
    path("settings/custom-fields/new/", views.custom_field_edit, name="custom_field_create"),
    path("settings/custom-fields/<slug:key>/edit/", views.custom_field_edit, name="custom_field_edit"),
    path("new/", views.customer_edit, name="create"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/notes/", views.add_note, name="add_note"),
    path("<int:pk>/consents/", views.set_consents, name="set_consents"),
    path("<int:pk>/owner/", views.assign_owner, name="assign_owner"),
]
