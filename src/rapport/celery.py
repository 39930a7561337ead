"""The Celery application.

In the embedded default (no ``CELERY_BROKER_URL``) tasks run in-process through
:mod:`rapport.core.jobs`; with a broker they go to Celery workers.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

app = Celery("rapport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
