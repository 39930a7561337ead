from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TagsConfig(AppConfig):
    name = "rapport.tags"
    verbose_name = _("Tags")

    def ready(self) -> None:
        from rapport.core.changes import on_customers_changed
        from rapport.tags import merge_hooks, segment_conditions, tabs
        from rapport.tags.triggers import customers_changed

        on_customers_changed(customers_changed)
        segment_conditions.register()
        merge_hooks.register()
        tabs.register()
