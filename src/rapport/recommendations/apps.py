from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommendationsConfig(AppConfig):
    name = "rapport.recommendations"
    verbose_name = _("Recommendations")

    def ready(self) -> None:
        from rapport.demo.steps import register_demo_step
        from rapport.portal.sections import PortalSection, register_portal_section
        from rapport.recommendations import privacy, segment_conditions, tabs
        from rapport.recommendations.demo import seed_recommendations

        tabs.register()
        privacy.register()
        segment_conditions.register()
        register_portal_section(PortalSection("for_you", _("For you"), "recommendations:portal_for_you", position=35))
        register_demo_step("recommendations", seed_recommendations, position=90)
