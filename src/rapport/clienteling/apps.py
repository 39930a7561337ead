from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClientelingConfig(AppConfig):
    name = "rapport.clienteling"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        from rapport.clienteling import home, privacy, tabs

        home.register()
        privacy.register()
        tabs.register()
