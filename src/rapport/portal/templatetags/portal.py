"""Template helpers for the portal layout: the registered navigation sections."""

from __future__ import annotations

from django import template

from rapport.portal.sections import PortalSection, portal_sections

register = template.Library()


@register.simple_tag
def portal_nav() -> list[PortalSection]:
    return portal_sections()
