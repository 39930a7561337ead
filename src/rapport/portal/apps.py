from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "rapport.portal"
    verbose_name = _("Member portal")

    def ready(self) -> None:
        from rapport.portal.sections import PortalSection, register_portal_section

        for section in (
            PortalSection("home", _("Home"), "portal:home", position=0),
            PortalSection("history", _("Points & balance"), "portal:history", position=10),
            PortalSection("coupons", _("Coupons"), "portal:coupons", position=20),
            PortalSection("level", _("My level"), "portal:level", position=30),
            PortalSection("preferences", _("Notifications"), "portal:preferences", position=90),
        ):
            register_portal_section(section)
