"""The customer 360 page is a set of tabs that domain apps contribute.

Each app registers its tabs in its ``AppConfig.ready``; the page shows those the viewer may
see, in ``position`` order. A tab renders its own template with the context its function
returns, so later domains (tags, events, assets, tickets) add a tab without touching the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.http import HttpRequest

    from rapport.customers.models import Customer

TabContext = Callable[["HttpRequest", "Customer"], dict[str, Any]]


@dataclass(frozen=True)
class CustomerTab:
    key: str
    label: str | Promise
    template: str
    context: TabContext
    position: int = 100
    permission: str | None = None


_TABS: dict[str, CustomerTab] = {}


def register_customer_tab(tab: CustomerTab) -> None:
    _TABS[tab.key] = tab


def customer_tabs(user: Any) -> list[CustomerTab]:
    tabs = [t for t in _TABS.values() if t.permission is None or user.has_perm(t.permission)]
    return sorted(tabs, key=lambda t: (t.position, t.key))
