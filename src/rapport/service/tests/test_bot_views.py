"""The bot on the member portal (the chat's JSON endpoints: answers with their passage and link,
thumbs, an offered hand-over the member confirms) and in the console (variants on the article
page, the review of unanswered and down-voted questions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rapport.accounts import roles
from rapport.service.models import Article, ArticleQuestion, BotConversation, BotQuestion, Ticket

pytestmark = pytest.mark.django_db


def _ask(client: Any, question: Any, conversation: str | None = None) -> Any:
    body = {"question": question, **({"conversation": conversation} if conversation else {})}
    return client.post("/service/portal/chat/ask/", json.dumps(body), content_type="application/json")


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_an_answer_carries_its_passage_link_and_question_for_thumbs(member_client, customer, seeded_kb):
    client = member_client(customer)
    answer = _ask(client, "积分什么时候过期？").json()
    assert answer["handed_over"] is False and answer["offer_handover"] is False and answer["kind"] == "answered"
    assert answer["text"].startswith("积分有效期")
    assert answer["source"]["title"] == "积分怎么获得和使用"
    assert client.get(answer["source"]["url"]).status_code == 200
    voted = _post(
        client,
        "/service/portal/chat/feedback/",
        {"conversation": answer["conversation"], "question": answer["question"], "vote": "down"},
    )
    assert voted.status_code == 200 and voted.json() == {"question": answer["question"], "vote": "down"}
    assert BotQuestion.objects.get().vote == "down"


def test_thumbs_with_bad_input_change_nothing(member_client, customer, make_customer, seeded_kb):
    client = member_client(customer)
    answer = _ask(client, "How do I use a coupon?").json()
    bad_vote = _post(
        client,
        "/service/portal/chat/feedback/",
        {"conversation": answer["conversation"], "question": answer["question"], "vote": "meh"},
    )
    assert bad_vote.status_code == 400 and bad_vote.json()["errors"][0]["field"] == "vote"
    bad_question = _post(
        client,
        "/service/portal/chat/feedback/",
        {"conversation": answer["conversation"], "question": "x", "vote": "up"},
    )
    assert bad_question.status_code == 400 and bad_question.json()["errors"][0]["field"] == "question"
    stranger = member_client(make_customer(name="别人"))
    foreign = _post(
        stranger,
        "/service/portal/chat/feedback/",
        {"conversation": answer["conversation"], "question": answer["question"], "vote": "down"},
    )
    assert foreign.status_code == 404
    assert BotQuestion.objects.get().vote == ""
    assert (
        client.post("/service/portal/chat/feedback/", b"not json", content_type="application/json").status_code == 404
    )


def test_an_unsure_answer_offers_a_person_and_the_member_confirms(member_client, customer, seeded_kb, agent):
    client = member_client(customer)
    offered = _ask(client, "Can I get cash back for the balance on my stored-value card?").json()
    assert offered["handed_over"] is False and offered["offer_handover"] is True and offered["kind"] == "handed_over"
    assert not Ticket.objects.exists()
    handed = _post(client, "/service/portal/chat/handover/", {"conversation": offered["conversation"]}).json()
    ticket = Ticket.objects.get()
    assert handed["handed_over"] is True and handed["ticket"] == ticket.number and handed["reply_by"]
    assert ticket.channel == "chat" and "stored-value card" in ticket.messages.get().body
    again = _ask(client, "hello?", offered["conversation"])
    assert again.status_code == 409


def test_confirming_twice_or_with_someone_elses_conversation_opens_no_second_ticket(
    client, member_client, customer, make_customer, seeded_kb, agent
):
    member = member_client(customer)
    offered = _ask(member, "储值卡里的钱可以提现吗").json()
    assert offered["offer_handover"] is True and not Ticket.objects.exists()
    first = _post(member, "/service/portal/chat/handover/", {"conversation": offered["conversation"]}).json()
    again = _post(member, "/service/portal/chat/handover/", {"conversation": offered["conversation"]}).json()
    assert first["ticket"] == again["ticket"] and Ticket.objects.count() == 1
    # another member cannot hand over (or read) this conversation: the token opens their own
    stranger = make_customer(name="别人")
    theirs = _post(member_client(stranger), "/service/portal/chat/handover/", {"conversation": offered["conversation"]})
    assert theirs.status_code == 200 and theirs.json()["conversation"] != offered["conversation"]
    their_ticket = Ticket.objects.exclude(customer=customer).get()
    assert their_ticket.customer == stranger and their_ticket.number == theirs.json()["ticket"]
    assert "提现" not in their_ticket.messages.get().body
    # signed out: no ticket at all
    client.cookies.clear()
    signed_out = client.post("/service/portal/chat/handover/", "{}", content_type="application/json")
    assert signed_out.status_code in (302, 401, 403) and Ticket.objects.count() == 2


def test_greetings_get_a_reply_and_no_ticket(member_client, customer, seeded_kb):
    client = member_client(customer)
    for text in ("你好", "谢谢！", "bye"):
        reply = _ask(client, text).json()
        assert reply["kind"] == "smalltalk" and reply["handed_over"] is False and reply["offer_handover"] is False
        assert reply["source"] is None
    assert not Ticket.objects.exists()


def test_asking_for_a_person_opens_the_ticket_at_once(member_client, customer, seeded_kb, agent):
    client = member_client(customer)
    handed = _ask(client, "我要转人工").json()
    assert handed["handed_over"] is True and Ticket.objects.count() == 1
    assert BotConversation.objects.get().ticket == Ticket.objects.get()


def test_bad_questions_are_refused(member_client, customer, seeded_kb):
    client = member_client(customer)
    assert _ask(client, "").status_code == 400
    assert _ask(client, 42).status_code == 400
    assert _ask(client, "x" * 501).json()["errors"][0]["code"] == "too_long"
    assert not BotQuestion.objects.exists()


def test_staff_edit_an_articles_question_variants(client, agent, seeded_kb):
    client.force_login(agent)
    article = Article.objects.get(title="Using coupons")
    seeded = article.questions.count()
    page = client.get(f"/service/kb/{article.pk}/")
    assert "How do I use a coupon?" in page.content.decode()
    client.post(f"/service/kb/{article.pk}/questions/", {"text": "Where do I type a discount code?"})
    added = ArticleQuestion.objects.get(article=article, text="Where do I type a discount code?")
    assert added.source == "staff"
    client.post(f"/service/kb/{article.pk}/questions/", {"text": ""})  # refused with a message
    assert article.questions.count() == seeded + 1
    client.post(f"/service/kb/{article.pk}/questions/", {"remove": added.pk})
    assert not ArticleQuestion.objects.filter(pk=added.pk).exists()


def test_the_review_page_groups_questions_and_teaches_the_bot(client, agent, member_client, customer, seeded_kb):
    member = member_client(customer)
    for _ in range(2):
        _ask(member, "do you ship to Japan?")
    answered = _ask(member, "How do I use a coupon?").json()
    _post(
        member,
        "/service/portal/chat/feedback/",
        {"conversation": answered["conversation"], "question": answered["question"], "vote": "down"},
    )
    client.force_login(agent)
    page = client.get("/service/kb/review/").content.decode()
    assert "do you ship to Japan?" in page and "How do I use a coupon?" in page
    japan = BotQuestion.objects.filter(text="do you ship to Japan?").first()
    article = Article.objects.get(title="How soon do you ship?")
    bad = client.post("/service/kb/review/", {"action": "variant", "question": japan.pk, "article": "nope"})
    assert bad.status_code == 302 and not ArticleQuestion.objects.filter(text="do you ship to Japan?").exists()
    category = article.category
    drafted = client.post(
        "/service/kb/review/",
        {
            "action": "draft",
            "question": japan.pk,
            "title": "Shipping abroad",
            "body": "We do not ship outside mainland China yet.",
            "category": category.pk,
            "language": "en",
        },
    )
    draft = Article.objects.get(title="Shipping abroad")
    assert drafted.status_code == 302 and drafted["Location"] == f"/service/kb/{draft.pk}/"
    assert draft.state == "draft" and draft.questions.get().text == "do you ship to Japan?"
    assert not BotQuestion.objects.filter(text="do you ship to Japan?", reviewed_at__isnull=True).exists()
    coupon = BotQuestion.objects.get(text="How do I use a coupon?")
    client.post("/service/kb/review/", {"action": "dismiss", "question": coupon.pk})
    assert "review-empty" in client.get("/service/kb/review/").content.decode()


def test_the_review_page_needs_knowledge_base_rights(client, make_staff, seeded_kb):
    client.force_login(make_staff(roles.SALES))
    assert client.get("/service/kb/review/").status_code == 403
