from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "rapport.events"
    verbose_name = _("Behaviour events")

    def ready(self) -> None:
        from rapport.events import merge_hooks, segment_conditions, tabs

        tabs.register()
        merge_hooks.register()
        segment_conditions.register()
