from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "rapport.customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from rapport.customers import consent, demo, segment_conditions, tabs
        from rapport.customers.merge import register_merge_hook
        from rapport.demo.steps import register_demo_step

        tabs.register()
        segment_conditions.register()
        register_merge_hook("consents", consent.move_consents)
        register_demo_step("consents", demo.seed_consents, position=5)
