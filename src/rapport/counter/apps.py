from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CounterConfig(AppConfig):
    name = "rapport.counter"
    verbose_name = _("Store counter")

    def ready(self) -> None:
        from rapport.counter import privacy
        from rapport.portal.sections import PortalSection, register_portal_section

        privacy.register()
        register_portal_section(PortalSection("member_code", _("Member code"), "counter_portal:code", position=5))
