from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    name = "rapport.promotions"
    verbose_name = _("Promotions")

    def ready(self) -> None:
        from rapport.demo.steps import register_demo_step
        from rapport.promotions import merge_hooks, privacy, segment_conditions
        from rapport.promotions.demo import seed_promotions

        privacy.register()
        merge_hooks.register()
        segment_conditions.register()
        register_demo_step("promotions", seed_promotions, position=25)
