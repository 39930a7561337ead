"""The member portal's navigation: other apps add their pages with :func:`register_portal_section`.

Call it from your ``AppConfig.ready()``::

    from rapport.portal.sections import PortalSection, register_portal_section

    register_portal_section(PortalSection("inbox", _("Messages"), "campaigns:portal_inbox", position=40))

``url_name`` is a URL name without arguments; the view behind it should be wrapped in
:func:`rapport.portal.auth.member_required` and its template should extend ``portal/base.html``
(blocks ``title`` and ``content``; pass ``portal_section=<key>`` in the context to highlight the
link). Sections are listed by ``position`` then ``key``; registering the same key again replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class PortalSection:
    key: str
    label: str | Promise
    url_name: str
    position: int = 100


_sections: dict[str, PortalSection] = {}


def register_portal_section(section: PortalSection) -> None:
    _sections[section.key] = section


def portal_sections() -> list[PortalSection]:
    return sorted(_sections.values(), key=lambda section: (section.position, section.key))
