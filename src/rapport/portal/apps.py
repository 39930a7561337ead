from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "rapport.portal"
    verbose_name = _("Member portal")

    def ready(self) -> None:
        from rapport.portal.sections import PortalSection, register_portal_section

        register_portal_section(PortalSection("home", _("Home"), "portal:home", position=0))
