from django.urls import path

from rapport.clienteling import views

app_name = "clienteling"
urlpatterns = [
    path("", views.my_tasks, name="my_tasks"),
    path("<int:pk>/", views.task_detail, name="task"),
    path("<int:pk>/complete/", views.complete, name="complete"),
    path("new/<int:customer_id>/", views.new_task, name="new"),
    path("contact/<int:customer_id>/", views.new_contact, name="contact"),
    path("contact/<int:customer_id>/share/", views.share, name="share"),
    path("bulk/", views.bulk, name="bulk"),
    path("reminders/", views.my_reminders, name="reminders"),
    path("reminders/alerts/", views.alert_settings, name="alert_settings"),
    path("reminders/<int:pk>/<slug:action>/", views.reminder_action, name="reminder_action"),
    path("completion/", views.completion, name="completion"),
]
