"""The service API: status codes and bodies, bad input, scopes and permissions."""

from __future__ import annotations

import base64

import pytest

from rapport.accounts import roles
from rapport.accounts.scopes import SERVICE_READ
from rapport.service import kb, services
from rapport.service.models import ArticleCategory, Ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def api(api_client_for, agent):
    return api_client_for(agent)


def test_open_a_ticket_by_email_and_read_it_back(api, customer, agent):
    files = [{"file_name": "photo.png", "content_type": "image/png", "data": base64.b64encode(PNG).decode()}]
    response = api.post(
        "/api/v1/tickets",
        {
            "email": "wang.fang@example.cn",
            "subject": "衬衫尺码不对",
            "body": "想换大一号",
            "category": "after_sales",
            "files": files,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer"]["id"] == customer.pk and body["assignee"] == "li.na" and body["status"] == "new"

    detail = api.get(f"/api/v1/tickets/{body['id']}").json()
    assert detail["messages"][0]["attachments"][0]["file_name"] == "photo.png"
    assert [h["action"] for h in detail["history"]] == ["created", "assigned"]


def test_bad_ticket_input_is_refused_with_field_errors_and_nothing_written(api):
    response = api.post(
        "/api/v1/tickets",
        {"subject": "x", "body": "y", "category": "praise"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert any("category" in e["field"] for e in response.json()["errors"])

    response = api.post("/api/v1/tickets", {"subject": "x", "body": "y"}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"

    bad_file = [{"file_name": "run.exe", "data": base64.b64encode(b"MZ").decode()}]
    response = api.post(
        "/api/v1/tickets",
        {"email": "new@example.com", "subject": "x", "body": "y", "files": bad_file},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "forbidden_type"
    assert not Ticket.objects.exists()
    from rapport.customers.models import Customer

    assert not Customer.objects.filter(name="new").exists()


def test_reply_note_status_assign_and_merge(api, customer, make_ticket, make_agent):
    other_agent = make_agent("zhao")
    ticket, duplicate = make_ticket(customer), make_ticket(customer)
    reply = api.post(
        f"/api/v1/tickets/{ticket.pk}/replies", {"body": "已处理", "then": "resolved"}, content_type="application/json"
    )
    assert reply.status_code == 201 and reply.json()["delivery"] == "sent"
    assert (
        api.post(f"/api/v1/tickets/{ticket.pk}/notes", {"body": "内部"}, content_type="application/json").status_code
        == 201
    )
    conflict = api.post(f"/api/v1/tickets/{ticket.pk}/status", {"status": "pending"}, content_type="application/json")
    assert conflict.status_code == 409 and conflict.json()["errors"][0]["code"] == "invalid_transition"
    assigned = api.post(f"/api/v1/tickets/{ticket.pk}/assign", {"assignee": "zhao"}, content_type="application/json")
    assert assigned.json()["assignee"] == other_agent.username
    unknown = api.post(f"/api/v1/tickets/{ticket.pk}/assign", {"assignee": "nobody"}, content_type="application/json")
    assert unknown.status_code == 422
    merged = api.post(
        f"/api/v1/tickets/{ticket.pk}/merge", {"duplicates": [duplicate.pk]}, content_type="application/json"
    )
    assert merged.status_code == 200 and merged.json()["status"] == "open"
    listing = api.get("/api/v1/tickets?view=all").json()
    assert {t["id"] for t in listing["results"]} == {ticket.pk}
    assert api.get("/api/v1/tickets?view=sideways").status_code == 422


def test_patch_checks_the_order_belongs_to_the_customer(api, customer, make_ticket):
    ticket = make_ticket(customer)
    response = api.patch(f"/api/v1/tickets/{ticket.pk}", {"order": "NO-SUCH"}, content_type="application/json")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "order"
    response = api.patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "urgent"}, content_type="application/json")
    assert response.json()["priority"] == "urgent"


def test_articles_search_in_chinese_and_english(api, system_actor):
    category = ArticleCategory.objects.create(name="配送 Delivery")
    kb.save_article(
        data={
            "title": "退货政策",
            "body": "签收后7天内可无理由退货。",
            "language": "zh-hans",
            "category": category.pk,
            "state": "published",
        },
        actor=system_actor,
    )
    kb.save_article(
        data={
            "title": "Returns policy",
            "body": "Return within 7 days of delivery.",
            "language": "en",
            "category": category.pk,
            "state": "published",
        },
        actor=system_actor,
    )
    zh = api.get("/api/v1/articles", {"q": "我想退货"}).json()["results"]
    assert zh[0]["title"] == "退货政策"
    en = api.get("/api/v1/articles", {"q": "how do I return a shirt", "language": "en"}).json()["results"]
    assert [a["title"] for a in en] == ["Returns policy"]
    created = api.post(
        "/api/v1/articles",
        {"title": "x", "body": "y", "language": "fr", "category": category.pk},
        content_type="application/json",
    )
    assert created.status_code == 422


def test_scopes_and_roles_are_enforced(api_client_for, agent, make_staff, customer, make_ticket):
    ticket = make_ticket(customer)
    read_only = api_client_for(agent, [SERVICE_READ])
    assert read_only.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    assert (
        read_only.post(f"/api/v1/tickets/{ticket.pk}/notes", {"body": "x"}, content_type="application/json").status_code
        == 403
    )
    sales = api_client_for(make_staff(roles.SALES))
    assert sales.get("/api/v1/tickets").status_code == 403


def test_reports(api, customer, make_ticket):
    make_ticket(customer, category="complaint")
    body = api.get("/api/v1/service/reports", {"category": "complaint"}).json()
    assert body["overall"]["tickets"] == 1 and "complaint" in body["by_category"]
    assert api.get("/api/v1/service/reports", {"start": "2026-13-01"}).status_code == 422


def test_listing_tickets_takes_a_fixed_number_of_queries(api, customer, make_ticket, django_assert_max_num_queries):
    for _ in range(3):
        make_ticket(customer)
    api.get("/api/v1/tickets?view=all")  # warm caches (token, permissions)
    with django_assert_max_num_queries(12):
        few = api.get("/api/v1/tickets?view=all&limit=3")
    for _ in range(7):
        make_ticket(customer)
    with django_assert_max_num_queries(12):
        many = api.get("/api/v1/tickets?view=all&limit=10")
    assert len(few.json()["results"]) == 3 and len(many.json()["results"]) == 10


def test_where_a_reply_went_is_masked_stored_encrypted_and_revealed_only_with_an_audit(
    api_client_for, make_staff, customer, make_ticket, agent_actor, agent
):
    from django.db import connection

    from rapport.audit.models import AuditEntry

    ticket = make_ticket(customer, channel="email")
    reply = services.reply(ticket, body="已处理", actor=agent_actor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT delivery_detail, delivery_address FROM service_ticketmessage WHERE id = %s", [reply.pk])
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert "wang.fang@example.cn" not in stored and stored.startswith("email ")

    analyst = api_client_for(make_staff(roles.ANALYST))
    shown = analyst.get(f"/api/v1/tickets/{ticket.pk}").json()["messages"][-1]
    assert shown["delivery_detail"] == "email to w***@example.cn"
    assert analyst.post(f"/api/v1/tickets/{ticket.pk}/reveal").status_code == 403
    assert not AuditEntry.objects.filter(action="reveal").exists()

    admin = api_client_for(make_staff(roles.ADMIN))
    revealed = admin.post(f"/api/v1/tickets/{ticket.pk}/reveal")
    assert revealed.status_code == 200
    assert revealed.json() == {"messages": [{"id": reply.pk, "delivery_address": "wang.fang@example.cn"}]}
    assert AuditEntry.objects.filter(action="reveal", object_id=str(ticket.pk)).count() == 1


def test_replies_recorded_with_a_plaintext_address_are_moved_to_the_encrypted_column(
    customer, make_ticket, agent_actor
):
    import importlib

    from django.apps import apps

    from rapport.service.models import TicketMessage

    migration = importlib.import_module("rapport.service.migrations.0003_move_reply_addresses_out_of_delivery_detail")
    ticket = make_ticket(customer, channel="email")
    sent = services.reply(ticket, body="好的", actor=agent_actor)
    failed = services.add_note(ticket, body="内部备注", actor=agent_actor)
    TicketMessage.objects.filter(pk=sent.pk).update(delivery_detail="email to bcherry@163.com", delivery_address=None)
    TicketMessage.objects.filter(pk=failed.pk).update(delivery_detail="SMTP: 550 <bcherry@163.com> no such user")
    migration.forwards(apps, None)
    sent.refresh_from_db()
    failed.refresh_from_db()
    assert (sent.delivery_detail, sent.delivery_address) == ("email", "bcherry@163.com")
    assert failed.delivery_detail == "SMTP: 550 <b***@163.com> no such user"
