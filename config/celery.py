"""The Celery app. Settings come from Django settings with the ``CELERY_`` prefix."""

import os

from celery import Celery

# The deploy processes (gunicorn, Celery) fail closed: production settings unless told.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("encore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
