from django.urls import path

from rapport.service import bot_views, portal_views, views

app_name = "service"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("availability/", views.availability, name="availability"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/reveal/", views.ticket_reveal, name="ticket_reveal"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/note/", views.ticket_note, name="ticket_note"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:pk>/update/", views.ticket_update, name="ticket_update"),
    path("tickets/<int:pk>/merge/", views.ticket_merge, name="ticket_merge"),
    path("tickets/<int:pk>/goodwill/<slug:kind>/", views.ticket_goodwill, name="ticket_goodwill"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("kb/", views.kb_list, name="kb"),
    path("kb/new/", views.kb_edit, name="kb_new"),
    path("kb/<int:pk>/", views.kb_edit, name="kb_edit"),
    path("kb/<int:pk>/questions/", bot_views.article_questions, name="kb_questions"),
    path("kb/review/", bot_views.review, name="bot_review"),
    path("canned/", views.canned_list, name="canned"),
    path("canned/<int:pk>/", views.canned_list, name="canned_edit"),
    path("reports/", views.report, name="reports"),
    path("reports/<slug:category>/", views.report, name="report"),
    path("mail/", views.inbound_mail, name="mail"),
    path("survey/<str:token>/", views.survey, name="survey"),
    path("portal/contact/", portal_views.contact, name="portal_contact"),
    path("portal/tickets/", portal_views.my_tickets, name="portal_tickets"),
    path("portal/tickets/<int:pk>/", portal_views.my_ticket, name="portal_ticket"),
    path("portal/articles/<int:pk>/", portal_views.article, name="portal_article"),
    path("portal/chat/", portal_views.chat, name="portal_chat"),
    path("portal/chat/ask/", portal_views.chat_ask, name="portal_chat_ask"),
    path("portal/chat/handover/", portal_views.chat_handover, name="portal_chat_handover"),
    path("portal/chat/feedback/", portal_views.chat_feedback, name="portal_chat_feedback"),
]
