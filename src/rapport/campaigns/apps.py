from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "rapport.campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from rapport.campaigns import lookups, receivers, reports, tabs
        from rapport.campaigns.demo import seed_campaigns
        from rapport.campaigns.models import Enrollment, Message
        from rapport.campaigns.signals import plan_started
        from rapport.commerce.signals import order_saved
        from rapport.customers.models import Customer, Identity
        from rapport.demo.steps import register_demo_step
        from rapport.events.signals import events_recorded
        from rapport.portal.sections import PortalSection, register_portal_section
        from rapport.promotions import holdouts

        holdouts.register_source(reports.holdout_revenue)

        events_recorded.connect(receivers.on_events_recorded, dispatch_uid="campaigns.events")
        lookups.register(
            Message._meta.get_field("id"),
            Message._meta.get_field("enrollment"),
            Enrollment._meta.get_field("id"),
            Customer._meta.get_field("id"),
            Identity._meta.get_field("customer"),
        )
        order_saved.connect(receivers.on_order_saved, dispatch_uid="campaigns.orders")
        plan_started.connect(receivers.on_plan_started, dispatch_uid="campaigns.plan_started")
        tabs.register()
        register_demo_step("campaigns", seed_campaigns, position=30)
        register_portal_section(PortalSection("inbox", _("Messages"), "campaigns:portal_inbox", position=40))
