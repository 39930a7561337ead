"""Template context shared by every console page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def console(request: HttpRequest) -> dict[str, Any]:
    from rapport.accounts.roles import ROLE_LABELS
    from rapport.accounts.services import role_of

    user = getattr(request, "user", None)
    role = role_of(user)
    return {"current_role": role, "current_role_label": ROLE_LABELS.get(role or "", "")}
