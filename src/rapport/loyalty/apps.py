from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "rapport.loyalty"
    verbose_name = _("Loyalty and assets")

    def ready(self) -> None:
        from rapport.loyalty import merge_hooks, receivers, segment_conditions, tabs

        receivers.connect()
        merge_hooks.register()
        segment_conditions.register()
        tabs.register()
