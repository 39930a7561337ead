"""A salesperson opens an opportunity for a customer found by name, moves it to Proposal on the
pipeline board, and sees the card and the forecast follow — English on a desktop (where a card
dragged onto another column moves there too), zh-Hans on a phone (390×844, the stage columns
stacked, nothing scrolling sideways)."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.accounts import roles
from rapport.opportunities.models import Opportunity
from rapport.opportunities.services import default_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASES = [("en", 1280, 900), ("zh-hans", 390, 844)]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize(("language", "width", "height"), CASES, ids=[c[0] for c in CASES])
def test_open_an_opportunity_and_move_it_on_the_board(
    page, sign_in, make_staff, make_customer, language, width, height
):
    seller = make_staff(roles.SALES, username="seller")
    make_customer(name="Lin Mei", phone="13900001234", owner=seller.pk)
    stages = {s.name: s for s in default_pipeline().stages.all()}
    page.set_viewport_size({"width": width, "height": height})
    sign_in(seller.username, language=language)

    page.goto("/opportunities/new/")
    page.fill("#customer-q", "Lin Mei")
    page.click("#customer-search button[type=submit]")
    page.click("#customer-results a.button >> nth=0")
    page.fill("#opp-title", "婚礼定制西装")
    page.fill("#opp-value", "12800.00")
    page.fill("#opp-close", "2027-01-20")
    page.click("#opportunity-form button[type=submit]")
    page.wait_for_selector("#activities")
    assert _fits(page)
    opportunity = Opportunity.objects.get()
    assert opportunity.stage == stages["Qualified"] and opportunity.owner == seller

    page.goto("/opportunities/")
    qualified = page.locator(f"#stage-{stages['Qualified'].pk}")
    assert "婚礼定制西装" in qualified.inner_text() and "Lin Mei" in qualified.inner_text()
    assert "12800.00" in page.inner_text(f"#forecast-stages tr[data-stage='{stages['Qualified'].pk}']")
    assert _fits(page)

    card = page.locator(f"#opportunity-{opportunity.pk}")
    card.locator("select[name=stage]").select_option(str(stages["Proposal"].pk))
    card.locator("button[type=submit]").click()
    page.wait_for_selector(".message.success")
    assert ("方案报价" if language == "zh-hans" else "Proposal") in page.inner_text(".message.success")
    proposal = page.locator(f"#stage-{stages['Proposal'].pk}")
    assert "婚礼定制西装" in proposal.inner_text()
    assert "婚礼定制西装" not in page.inner_text(f"#stage-{stages['Qualified'].pk}")
    row = page.inner_text(f"#forecast-stages tr[data-stage='{stages['Proposal'].pk}']")
    assert "12800.00" in row and "5120.00" in row
    heading = page.inner_text(f"#stage-{stages['Proposal'].pk} h2")
    assert ("方案报价" if language == "zh-hans" else "Proposal") in heading
    assert _fits(page)
    if width >= 500:  # a card dragged onto another column moves there (board.js submits its form)
        card = page.locator(f"#opportunity-{opportunity.pk}")
        assert card.get_attribute("draggable") == "true"
        card.locator("p").first.drag_to(page.locator(f"#stage-{stages['Negotiation'].pk} h2"))
        page.wait_for_selector(f"#stage-{stages['Negotiation'].pk} #opportunity-{opportunity.pk}")
        assert Opportunity.objects.get().probability == 70
    else:  # the columns stack: the second one starts below the first
        first = page.locator(f"#stage-{stages['Qualified'].pk}").bounding_box()
        second = proposal.bounding_box()
        assert second["y"] >= first["y"] + first["height"] - 1 and abs(second["x"] - first["x"]) < 2
