"""The console's main pages work under a Content-Security-Policy that forbids inline script."""

from __future__ import annotations

import pytest

from rapport.accounts import roles
from rapport.testing.browser import switch_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/customers/",
    "/customers/{customer}/",
    "/orders/",
    "/events/",
    "/segments/",
    "/segments/new/",
    "/tags/",
    "/loyalty/",
    "/campaigns/",
    "/campaigns/new/",
    "/counter/tasks/",
    "/analytics/",
    "/analytics/loyalty/",
    "/analytics/reports/",
    "/service/",
    "/service/reports/",
    "/imports/",
    "/audit/",
    "/customers/settings/stores/",
    "/api/docs",
]

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI || "inline"} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_main_pages_raise_no_policy_violation(page, sign_in, make_staff, make_customer):
    make_staff(roles.ADMIN, username="boss")
    customer = make_customer(name="王芳", city="上海")
    page.add_init_script(WATCH_VIOLATIONS)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: messages.append(str(exc)))
    sign_in("boss")
    for path in PAGES:
        response = page.goto(path.format(customer=customer.pk))
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("load")
        violations = page.evaluate("window.__violations")
        assert violations == [], (path, violations)
        refused = [m for m in messages if "Content Security Policy" in m or "Refused to" in m]
        assert refused == [], (path, refused)
    page.goto("/analytics/")
    page.locator("#chart-customers .main-svg").first.wait_for()  # the charts are drawn by charts.js


def test_autosubmit_and_confirm_work_without_inline_handlers(page, sign_in, make_staff):
    make_staff(roles.ADMIN, username="boss2")
    sign_in("boss2")
    page.goto("/campaigns/")
    with page.expect_navigation():
        page.select_option("select[name=status]", "draft")
    assert "status=draft" in page.url
    switch_language(page, "zh-hans")
    page.wait_for_selector("nav.mainnav >> text=客户")
