"""Console and portal pages: the inbox views, the ticket page and its actions, KB editor, canned
replies, reports, the survey link, and the member's contact form and chat."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from rapport.accounts import roles
from rapport.service import csat, services
from rapport.service.models import BotConversation, MessageKind, Status, Survey, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_inbox_views_and_ticket_page(agent_client, customer, make_ticket):
    ticket = make_ticket(customer)
    page = agent_client.get("/service/")
    assert page.status_code == 200 and ticket.subject in page.content.decode()
    assert agent_client.get("/service/?view=unassigned").status_code == 200
    detail = agent_client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "customer-summary" in detail and customer.name in detail and "reply-form" in detail


def test_reply_from_the_ticket_page(agent_client, customer, make_ticket):
    ticket = make_ticket(customer)
    response = agent_client.post(f"/service/tickets/{ticket.pk}/reply/", {"body": "已为您处理", "then": "resolved"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.messages.filter(kind=MessageKind.AGENT).exists()
    empty = agent_client.post(f"/service/tickets/{ticket.pk}/note/", {"body": ""}, follow=True)
    assert "body is required" in empty.content.decode()


def test_staff_without_service_permissions_are_refused(make_staff, customer, make_ticket):
    client = Client()
    client.force_login(make_staff(roles.SALES))
    assert client.get("/service/").status_code == 403
    assert client.get(f"/service/tickets/{make_ticket(customer).pk}/").status_code == 403


def test_open_a_ticket_by_hand_with_errors_shown(agent_client, customer):
    bad = agent_client.post("/service/tickets/new/", {"customer": customer.pk, "subject": "", "body": "x"})
    assert bad.status_code == 422 and "subject" in bad.content.decode()
    good = agent_client.post(
        "/service/tickets/new/",
        {"customer": customer.pk, "subject": "电话咨询", "body": "问尺码", "category": "inquiry", "priority": "normal"},
    )
    assert good.status_code == 302 and Ticket.objects.get().channel == "console"


def test_kb_editor_and_canned_replies(agent_client, seeded_kb):
    listing = agent_client.get("/service/kb/", {"q": "退货"})
    assert listing.status_code == 200 and "kb-results" in listing.content.decode()
    bad = agent_client.post("/service/kb/new/", {"title": "", "body": "", "language": "en", "state": "draft"})
    assert bad.status_code == 422
    canned = agent_client.post("/service/canned/", {"title": "Hi", "body": "Hello {customer_name}"})
    assert canned.status_code == 302
    wrong = agent_client.post("/service/canned/", {"title": "Bad", "body": "Hello {name}"})
    assert wrong.status_code == 422 and "unknown" in wrong.content.decode()


def test_reports_and_analysis_pages(agent_client, customer, make_ticket):
    make_ticket(customer, category="complaint")
    for url in ("/service/reports/", "/service/reports/complaint/", "/service/reports/after_sales/"):
        page = agent_client.get(url)
        assert page.status_code == 200 and "chart-volume" in page.content.decode()
    assert agent_client.get("/service/reports/praise/").status_code == 404


def test_survey_link_records_one_answer(customer, agent_actor, make_ticket):
    ticket = make_ticket(customer)
    services.reply(ticket, body="好了", actor=agent_actor, then="resolved")
    survey = Survey.objects.get()
    url = f"/service/survey/{csat.survey_token(survey)}/"
    assert url in mail.outbox[-1].body
    client = Client()
    assert client.get(url).status_code == 200
    assert client.post(url, {"score": "9"}).status_code == 422
    assert client.post(url, {"score": "5", "comment": "很快"}).status_code == 200
    survey.refresh_from_db()
    assert survey.score == 5 and survey.comment == "很快"
    assert client.post(url, {"score": "1"}).status_code == 422  # answered once
    assert client.get("/service/survey/forged-token/").status_code == 404


def test_member_contact_form_and_answering_a_reply(member_client, customer, agent, agent_actor):
    client = member_client(customer)
    assert client.get("/service/portal/contact/").status_code == 200
    bad = client.post("/service/portal/contact/", {"subject": "", "body": ""})
    assert bad.status_code == 422
    response = client.post(
        "/service/portal/contact/", {"subject": "积分没到账", "body": "上周的订单积分还没到", "category": "inquiry"}
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and ticket.channel == "portal" and ticket.customer == customer
    services.add_note(ticket, body="内部备注", actor=agent_actor)
    services.reply(ticket, body="已补发积分", actor=agent_actor)
    page = client.get(f"/service/portal/tickets/{ticket.pk}/").content.decode()
    assert "已补发积分" in page and "内部备注" not in page
    client.post(f"/service/portal/tickets/{ticket.pk}/", {"body": "收到了，谢谢"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_member_sees_only_their_own_tickets(member_client, customer, make_customer, make_ticket):
    other = make_ticket(make_customer(name="别人"))
    assert member_client(customer).get(f"/service/portal/tickets/{other.pk}/").status_code == 404


def test_chat_answers_with_a_source_and_hands_over(member_client, customer, seeded_kb, agent):
    client = member_client(customer)
    assert client.get("/service/portal/chat/").status_code == 200
    answer = client.post(
        "/service/portal/chat/ask/", json.dumps({"question": "退货需要几天退款？"}), content_type="application/json"
    ).json()
    assert answer["handed_over"] is False and answer["source"]["url"].startswith("/service/portal/articles/")
    assert client.get(answer["source"]["url"]).status_code == 200
    handed = client.post(
        "/service/portal/chat/ask/",
        json.dumps({"conversation": answer["conversation"], "question": "我要转人工"}),
        content_type="application/json",
    ).json()
    assert handed["handed_over"] is True
    ticket = Ticket.objects.get()
    assert ticket.channel == "chat" and "退货需要几天退款" in ticket.messages.get().body
    assert BotConversation.objects.get().ticket == ticket
    empty = client.post("/service/portal/chat/ask/", json.dumps({"question": ""}), content_type="application/json")
    assert empty.status_code == 400


def test_portal_pages_need_a_member(client):
    assert client.get("/service/portal/contact/").status_code == 302


def test_attachments_download_for_staff_who_see_the_ticket(agent_client, customer, make_ticket, make_staff):
    from rapport.service.attachments import IncomingFile

    ticket = make_ticket(customer, files=[IncomingFile('receipt "1".txt', "text/plain", b"order 1001")])
    attachment = ticket.messages.get().attachments.get()
    response = agent_client.get(f"/service/attachments/{attachment.pk}/")
    assert response.status_code == 200 and response.content == b"order 1001"
    assert response["Content-Disposition"].startswith("attachment;") and response["Content-Type"] == "text/plain"
    outsider = Client()
    outsider.force_login(make_staff(roles.SALES))
    assert outsider.get(f"/service/attachments/{attachment.pk}/").status_code == 403


def test_a_new_ticket_is_new_to_the_member_in_chinese_not_a_new_customer(member_client, customer, make_ticket):
    """The ticket status "New" and the lifecycle stage "New" (新客) are two words in Chinese."""
    ticket = make_ticket(customer)
    assert ticket.status == Status.NEW
    client = member_client(customer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    for url in ("/service/portal/tickets/", f"/service/portal/tickets/{ticket.pk}/"):
        with translation.override("en"):  # the request activates Chinese in this thread: not for the next test
            page = client.get(url).content.decode()
        assert "新建" in page and "新客" not in page, url


def test_inbox_tabs_and_analyses_are_in_the_readers_language(agent_client):
    agent_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    with translation.override("en"):  # the requests activate Chinese in this thread: not for the next test
        inbox = agent_client.get("/service/").content.decode()
        reports = agent_client.get("/service/reports/").content.decode()
    assert "我的" in inbox and "即将超时" in inbox
    assert not any(label in inbox for label in ("Mine", "Unassigned", "Breaching soon", "All open", "Everything"))
    assert "全部工单" in reports and "All tickets" not in reports


def test_opening_a_ticket_for_a_new_contact_that_fails_creates_no_customer(agent_client, customer):
    from rapport.customers.models import Customer

    before = Customer.objects.count()
    bad = agent_client.post(
        "/service/tickets/new/", {"email": "new.caller@example.cn", "name": "Zhou Min", "subject": "", "body": "x"}
    )
    assert bad.status_code == 422 and "subject" in bad.content.decode()
    assert Customer.objects.count() == before
    good = agent_client.post(
        "/service/tickets/new/",
        {
            "email": "new.caller@example.cn",
            "name": "Zhou Min",
            "subject": "电话咨询",
            "body": "问尺码",
            "category": "inquiry",
            "priority": "normal",
        },
    )
    assert good.status_code == 302 and Ticket.objects.get().customer.email == "new.caller@example.cn"


def test_the_ticket_page_masks_where_a_reply_went_until_an_audited_reveal(
    agent_client, customer, make_ticket, agent_actor, make_staff
):
    from rapport.audit.models import AuditEntry

    ticket = make_ticket(customer, channel="email")
    services.reply(ticket, body="已处理", actor=agent_actor)
    analyst = Client()
    analyst.force_login(make_staff(roles.ANALYST))
    page = analyst.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "email to w***@example.cn" in page and "wang.fang@example.cn" not in page
    assert "reveal-addresses" not in page
    assert analyst.post(f"/service/tickets/{ticket.pk}/reveal/").status_code == 403

    page = agent_client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    assert "wang.fang@example.cn" not in page and "reveal-addresses" in page
    revealed = agent_client.post(f"/service/tickets/{ticket.pk}/reveal/").content.decode()
    assert "email to wang.fang@example.cn" in revealed
    assert AuditEntry.objects.filter(action="reveal", object_id=str(ticket.pk)).count() == 1
