from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "rapport.loyalty"
    verbose_name = _("Loyalty and assets")

    def ready(self) -> None:
        from rapport.demo.steps import register_demo_step
        from rapport.loyalty import goodwill_privacy, home, merge_hooks, receivers, segment_conditions, tabs
        from rapport.loyalty.demo import seed_loyalty

        register_demo_step("loyalty", seed_loyalty, position=20)
        receivers.connect()
        merge_hooks.register()
        segment_conditions.register()
        tabs.register()
        goodwill_privacy.register()
        home.register()
