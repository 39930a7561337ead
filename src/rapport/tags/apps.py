from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TagsConfig(AppConfig):
    name = "rapport.tags"
    verbose_name = _("Tags")

    def ready(self) -> None:
        from rapport.tags import merge_hooks, segment_conditions, tabs

        segment_conditions.register()
        merge_hooks.register()
        tabs.register()
