from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "rapport.analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from rapport.analytics import home, merge_hooks, segment_conditions, tabs
        from rapport.analytics.demo import compute_demo_metrics
        from rapport.analytics.tasks import customers_changed
        from rapport.core.changes import Change, on_customers_changed
        from rapport.demo.steps import register_demo_step

        # scores come from orders and the profile, not from behaviour events
        on_customers_changed(customers_changed, kinds=(Change.PROFILE, Change.ORDERS))
        segment_conditions.register()
        merge_hooks.register()
        tabs.register()
        home.register()
        register_demo_step("analytics", compute_demo_metrics, position=10)
