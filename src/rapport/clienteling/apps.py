from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClientelingConfig(AppConfig):
    name = "rapport.clienteling"
    verbose_name = _("Tasks")

    def ready(self) -> None:
        from rapport.clienteling import home, merge_hooks, privacy, tabs

        home.register()
        merge_hooks.register()
        privacy.register()
        tabs.register()
