from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "rapport.inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from rapport.demo.steps import register_demo_step
        from rapport.inventory import home, privacy, receivers, segment_conditions
        from rapport.inventory.demo import seed_forecast, seed_stock
        from rapport.portal.sections import PortalSection, register_portal_section

        receivers.connect()
        home.register()
        privacy.register()
        segment_conditions.register()
        register_portal_section(
            PortalSection("back_in_stock", _("Back in stock"), "inventory:portal_back_in_stock", position=36)
        )
        register_demo_step("stock", seed_stock, position=8)
        register_demo_step("forecast", seed_forecast, position=95)
