from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "rapport.campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from rapport.campaigns import triggers
        from rapport.commerce.signals import order_saved
        from rapport.events.signals import events_recorded

        events_recorded.connect(triggers.on_events_recorded, dispatch_uid="campaigns.events")
        order_saved.connect(triggers.on_order_saved, dispatch_uid="campaigns.orders")
