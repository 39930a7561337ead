"""Service in Chromium: an agent answers a ticket from the inbox with a canned reply; a member asks
the chat widget in Chinese, gets the passage with the article link, votes and hands over to a
person; an agent adds a handed-over question to an article from the assistant review page (both
in English and zh-Hans, on a desktop and a 390×844 phone)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse

from rapport.portal.auth import start_session
from rapport.service import bot, services
from rapport.service.models import Article, ArticleQuestion, BotQuestion, MessageKind, Status, Ticket
from rapport.testing.browser import VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCALES = {"en": "en-US", "zh-hans": "zh-CN"}  # the portal follows the browser's language
CASES = [("en", "desktop"), ("zh-hans", "desktop"), ("en", "phone"), ("zh-hans", "phone")]
THANKS = {"en": "Thank you", "zh-hans": "感谢您的反馈"}
SOURCE_LABEL = {"en": "Read the whole article", "zh-hans": "阅读全文"}


@pytest.fixture
def member_page(chromium, live_server, customer, request):
    """A signed-in member's browser in the case's language and viewport."""
    language, viewport = request.param
    context = chromium.new_context(
        base_url=live_server.url,
        locale=LOCALES[language],
        viewport=VIEWPORTS[viewport],
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
    )
    context.set_default_timeout(15_000)
    response = HttpResponse()
    start_session(response, customer)
    context.add_cookies(
        [{"name": name, "value": morsel.value, "url": live_server.url} for name, morsel in response.cookies.items()]
    )
    yield context.new_page(), language, viewport
    context.close()


def test_an_agent_answers_a_ticket_with_a_canned_reply(page, sign_in, agent, agent_actor, customer, make_ticket):
    services.save_canned_reply(
        data={"title": "Acknowledge", "body": "{customer_name}，您好！工单 {ticket_number} 已收到。"}, actor=agent_actor
    )
    ticket = make_ticket(customer, subject="衬衫少发了一件")

    sign_in(agent.username)
    page.goto("/service/")
    assert "衬衫少发了一件" in page.inner_text("#ticket-list")
    page.click("#ticket-list >> text=衬衫少发了一件")
    page.wait_for_url(f"**/service/tickets/{ticket.pk}/")
    assert customer.name in page.inner_text("#customer-summary")

    page.select_option("#canned-reply", label="Acknowledge")
    assert page.input_value("#reply-body") == f"王芳，您好！工单 {ticket.number} 已收到。"
    page.fill("#reply-body", page.input_value("#reply-body") + "\n已为您补发，明天送达。")
    page.click("#send-reply")
    page.wait_for_selector(".message.success")
    assert "已为您补发" in page.inner_text("#thread .kind-agent")
    assert "Pending customer" in page.inner_text("#ticket-status")
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING and ticket.first_response_at is not None

    page.fill("#note-body", "客户是老顾客")
    page.click("#add-note")
    page.wait_for_selector("#thread .kind-note")


@pytest.mark.parametrize("member_page", CASES, indirect=True, ids=["-".join(c) for c in CASES])
def test_a_member_asks_the_bot_in_chinese_then_hands_over_to_a_person(member_page, seeded_kb, agent):
    page, language, viewport = member_page
    page.goto("/service/portal/chat/")
    page.fill("#chat-question", "积分什么时候过期？")
    page.click("#chat-send")
    answer = page.locator(".bubble.bot").nth(1)
    answer.wait_for()
    # the passage that answers (the expiry sentence), not the article's first paragraph
    assert answer.locator(".text").inner_text() == "积分有效期为获得后的第二年年底，过期积分自动清零。"
    link = answer.locator("a.source")
    assert "积分怎么获得和使用" in link.inner_text() and SOURCE_LABEL[language] in answer.inner_text()
    assert link.is_visible()
    if viewport == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    answer.locator("button.vote-up").click()
    answer.locator(".feedback").filter(has_text=THANKS[language]).wait_for()
    assert BotQuestion.objects.get().vote == "up"

    page.fill("#chat-question", "储值卡里的钱可以提现吗")
    page.click("#chat-send")
    offer = page.locator("button.accept-handover")
    offer.wait_for()
    assert not Ticket.objects.exists()  # only an offer until the member accepts
    offer.click()
    ticket_link = page.locator("a.ticket-link")
    ticket_link.wait_for()
    ticket = Ticket.objects.get()
    assert ticket_link.inner_text() == ticket.number and ticket.channel == "chat" and ticket.assignee == agent
    transcript = ticket.messages.get()
    assert transcript.kind == MessageKind.BOT and "积分什么时候过期" in transcript.body and "提现" in transcript.body
    ticket_link.click()
    page.wait_for_url(f"**/service/portal/tickets/{ticket.pk}/")
    assert "积分什么时候过期" in page.inner_text("#thread")


def test_the_article_link_opens_the_whole_article(page, customer, seeded_kb, live_server):
    response = HttpResponse()
    start_session(response, customer)
    page.context.add_cookies(
        [{"name": name, "value": morsel.value, "url": live_server.url} for name, morsel in response.cookies.items()]
    )
    page.goto("/service/portal/chat/")
    page.fill("#chat-question", "退款一般几天能到银行卡")
    page.click("#chat-send")
    link = page.locator(".bubble.bot a.source")
    link.wait_for()
    assert "退款多久到账" in link.inner_text()
    link.click()
    page.wait_for_url("**/service/portal/articles/*/")
    assert "原路退回" in page.inner_text("body")


def test_an_agent_reveals_where_a_reply_went_and_the_reveal_is_audited(
    page, sign_in, agent, agent_actor, customer, make_ticket
):
    from rapport.audit.models import AuditEntry

    ticket = make_ticket(customer, channel="email", subject="发票")
    services.reply(ticket, body="已开具。", actor=agent_actor)

    sign_in(agent.username)
    page.goto(f"/service/tickets/{ticket.pk}/")
    assert "email to w***@example.cn" in page.inner_text("#thread .kind-agent")
    page.click("#reveal-addresses")
    page.wait_for_selector("#thread")
    assert "email to wang.fang@example.cn" in page.inner_text("#thread .kind-agent")
    assert page.locator("#reveal-addresses").count() == 0
    assert AuditEntry.objects.filter(action="reveal", object_id=str(ticket.pk)).count() == 1


@pytest.fixture
def agent_page(open_page, sign_in, agent, request):
    """The agent's browser, signed in, in the case's language and viewport."""
    language, viewport = request.param
    page = open_page(viewport=VIEWPORTS[viewport], locale=LOCALES[language], is_mobile=viewport == "phone")
    return sign_in(agent.username, next_url="/service/kb/review/", language=language, page=page), language


ADD_VARIANT = {"en": "Add as a question of this article", "zh-hans": "添加为这篇文章的问法"}


@pytest.mark.parametrize("agent_page", CASES, indirect=True, ids=["-".join(c) for c in CASES])
def test_an_agent_teaches_the_bot_a_question_it_handed_over_with_one_click(agent_page, seeded_kb, customer):
    conversation = bot.start(customer)
    handed = bot.ask(conversation, "衣服上的牌子剪掉了，还能不能送回去")
    assert handed.offer_handover
    answered = bot.ask(conversation, "How do I use a coupon?")
    bot.vote(conversation, answered.question.pk, "down")
    returns = Article.objects.get(title="七天无理由退货政策")

    page, language = agent_page
    page.goto("/service/kb/review/")
    rows = page.locator("tr.review-question")
    assert rows.filter(has_text="How do I use a coupon?").count() == 1  # voted down
    row = rows.filter(has_text="衣服上的牌子剪掉了，还能不能送回去")  # offered a person
    row.locator("select[name=article]").select_option(str(returns.pk))
    with page.expect_navigation():
        row.get_by_role("button", name=ADD_VARIANT[language]).click()
    assert page.locator("tr.review-question").filter(has_text="衣服上的牌子剪掉了，还能不能送回去").count() == 0
    assert ArticleQuestion.objects.filter(article=returns, text="衣服上的牌子剪掉了，还能不能送回去").exists()
    # the engine picks the variant up on the next question
    again = bot.answer("衣服上的牌子剪掉了，还能不能送回去")
    assert not again.handed_over and again.article == returns
