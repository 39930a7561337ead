from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "rapport.service"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from rapport.demo.steps import register_demo_step
        from rapport.portal.sections import PortalSection, register_portal_section
        from rapport.service import home, merge_hooks, tabs
        from rapport.service.demo import seed_service

        tabs.register()
        home.register()
        merge_hooks.register()
        register_demo_step("service", seed_service, position=40)
        register_portal_section(PortalSection("help", _("Help"), "service:portal_chat", position=60))
        register_portal_section(PortalSection("service", _("Your requests"), "service:portal_tickets", position=61))
