from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "rapport.inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from rapport.demo.steps import register_demo_step
        from rapport.inventory import home, receivers
        from rapport.inventory.demo import seed_stock

        home.register()
        receivers.connect()
        register_demo_step("stock", seed_stock, position=8)
