from django.urls import path

from rapport.campaigns import canvas_views, launch_views, portal_views, public_views, views

app_name = "campaigns"

urlpatterns = [
    path("", views.plan_list, name="list"),
    path("new/", views.plan_create, name="create"),
    path("<int:pk>/", views.plan_detail, name="detail"),
    path("<int:pk>/edit/", views.plan_edit, name="edit"),
    path("<int:pk>/canvas/", canvas_views.journey_canvas, name="canvas"),
    path("<int:pk>/launch/", launch_views.launch_confirm, name="launch"),
    path("<int:pk>/<slug:action>/", views.plan_action, name="action"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/email-frame/", views.email_frame, name="email_frame"),
    path("channels/", views.channel_settings, name="channels"),
    path("customers/<int:customer_id>/lift-suppression/", views.lift_suppression, name="lift_suppression"),
    path("portal/inbox/", portal_views.inbox, name="portal_inbox"),
    path("portal/inbox/<int:pk>/", portal_views.read, name="portal_message"),
    path("t/o/<str:token>.gif", public_views.track_open, name="track_open"),
    path("t/c/<str:token>/", public_views.track_click, name="track_click"),
    path("u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
]
