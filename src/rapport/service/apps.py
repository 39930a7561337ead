from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "rapport.service"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from rapport.portal.sections import PortalSection, register_portal_section
        from rapport.service import merge_hooks, tabs

        tabs.register()
        merge_hooks.register()
        register_portal_section(PortalSection("help", _("Help"), "service:portal_chat", position=60))
        register_portal_section(PortalSection("service", _("Your requests"), "service:portal_tickets", position=61))
