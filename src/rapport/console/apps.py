from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "rapport.console"
    verbose_name = _("Console")

    def ready(self) -> None:
        from rapport.console import plans_panel

        plans_panel.register()
