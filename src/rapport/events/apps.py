from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "rapport.events"
    verbose_name = _("Behaviour events")

    def ready(self) -> None:
        from rapport.demo.steps import register_demo_step
        from rapport.events import merge_hooks, message_conditions, segment_conditions, tabs
        from rapport.events.demo import seed_events

        tabs.register()
        merge_hooks.register()
        segment_conditions.register()
        message_conditions.register()
        # After campaigns and service: journeys launched here pick people up from the load on.
        register_demo_step("events", seed_events, position=50)
