from django.urls import path

from rapport.inventory import portal_views, views

app_name = "inventory"

urlpatterns = [
    path("", views.stock_list, name="list"),
    path("export.csv", views.stock_export, name="export"),
    path("forecast/", views.forecast_page, name="forecast"),
    path("classes/", views.class_matrix, name="classes"),
    path("<int:pk>/", views.stock_detail, name="detail"),
    path("<int:pk>/move/", views.stock_move, name="move"),
    path("portal/back-in-stock/", portal_views.back_in_stock, name="portal_back_in_stock"),
]
