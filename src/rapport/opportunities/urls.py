from django.urls import path

from rapport.opportunities import views

app_name = "opportunities"
urlpatterns = [
    path("", views.board, name="board"),
    path("new/", views.new_opportunity, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/move/", views.move, name="move"),
    path("<int:pk>/activity/", views.add_activity, name="activity"),
]
