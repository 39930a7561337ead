from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpportunitiesConfig(AppConfig):
    name = "rapport.opportunities"
    verbose_name = _("Sales opportunities")

    def ready(self) -> None:
        from rapport.opportunities import merge_hooks, privacy, tabs

        merge_hooks.register()
        privacy.register()
        tabs.register()
