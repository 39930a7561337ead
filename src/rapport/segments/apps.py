from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "rapport.segments"
    verbose_name = _("Segments")

    def ready(self) -> None:
        from rapport.segments import tabs

        tabs.register()
