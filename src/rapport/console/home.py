"""The home dashboard after sign-in is a set of panels that domain apps contribute.

Each app registers its panels in its ``AppConfig.ready`` (KPIs from analytics, SLA breaches from
service, expiring points from loyalty…); the page shows those the viewer's role may see, in
``position`` order, so a later app (tasks, stock alerts) adds a panel without touching the page.
A panel whose context function answers None has nothing to say and is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.http import HttpRequest

PanelContext = Callable[["HttpRequest"], dict[str, Any] | None]


@dataclass(frozen=True)
class HomePanel:
    key: str
    title: str | Promise
    template: str
    context: PanelContext
    position: int = 100
    permission: str | None = None
    wide: bool = False


_PANELS: dict[str, HomePanel] = {}


def register_home_panel(panel: HomePanel) -> None:
    _PANELS[panel.key] = panel


def home_panels(user: Any) -> list[HomePanel]:
    panels = [p for p in _PANELS.values() if p.permission is None or user.has_perm(p.permission)]
    return sorted(panels, key=lambda p: (p.position, p.key))
