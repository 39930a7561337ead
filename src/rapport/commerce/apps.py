from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "rapport.commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        from rapport.commerce import merge_hooks, segment_conditions, tabs

        tabs.register()
        merge_hooks.register()
        segment_conditions.register()
