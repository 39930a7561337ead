from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "rapport.privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        from celery.signals import worker_init

        from rapport.portal.sections import PortalSection, register_portal_section
        from rapport.privacy import handlers
        from rapport.privacy.keyguard import refuse_worker_with_wrong_keys

        handlers.register()
        register_portal_section(PortalSection("privacy", _("My data"), "privacy_portal:home", position=90))

        # A worker decrypts personal data as the web server does: it must not start with keys
        # that cannot read the database either.
        worker_init.connect(refuse_worker_with_wrong_keys, weak=False)
