from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "rapport.accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Not limited to this app: other apps' permissions appear after their own migrate.
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="rapport.sync_roles")


def _sync_roles_after_migrate(app_config: Any, **kwargs: Any) -> None:
    """Roles are groups of permissions, which exist only after migrate: sync after the last app."""
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if app_config is with_models[-1]:
        from rapport.accounts.services import sync_roles

        sync_roles()
