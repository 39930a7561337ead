from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "rapport.service"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from rapport.service import merge_hooks, tabs

        tabs.register()
        merge_hooks.register()
