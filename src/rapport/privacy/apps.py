from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "rapport.privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        from celery.signals import worker_init

        from rapport.console.tabs import CustomerTab, register_customer_tab
        from rapport.portal.sections import PortalSection, register_portal_section
        from rapport.privacy import handlers
        from rapport.privacy.keyguard import refuse_worker_with_wrong_keys
        from rapport.privacy.tab import privacy_tab

        handlers.register()
        register_portal_section(PortalSection("privacy", _("My data"), "privacy_portal:home", position=90))
        register_customer_tab(
            CustomerTab(
                "privacy",
                _("Privacy"),
                "privacy/tab.html",
                privacy_tab,
                position=95,
                permission="privacy.handle_privacy_request",
            )
        )

        # A worker decrypts personal data as the web server does: it must not start with keys
        # that cannot read the database either.
        worker_init.connect(refuse_worker_with_wrong_keys, weak=False)
