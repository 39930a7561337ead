import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
application = get_wsgi_application()

from rapport.privacy.keyguard import ensure_keys_match_database  # noqa: E402  (needs the apps loaded)

ensure_keys_match_database()  # refuse to serve with keys that cannot read this database
