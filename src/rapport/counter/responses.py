"""The bodies the counter API answers with: its response contract, as the OpenAPI document shows it."""

from __future__ import annotations

from rapport.core.api import Body


class MemberCardOut(Body):
    visit: str
    name: str
    phone: str
    level: str
    points: str
    stored_value: str
    coupons: int


class LookupOut(Body):
    members: list[MemberCardOut]


LookupOut.model_rebuild()
