"""Rapport: the customer relationship platform for online and omni-channel retailers."""

from rapport.celery import app as celery_app

__all__ = ["celery_app"]
