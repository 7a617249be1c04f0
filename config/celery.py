"""The Celery app. Settings come from Django settings with the ``CELERY_`` prefix."""

import os
from logging.config import dictConfig
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_shutdown

# The deploy processes (gunicorn, Celery) fail closed: production settings unless told.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("encore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    """Workers and beat log like the web: Django's LOGGING (JSON lines, secrets redacted),
    instead of Celery's own format. Connecting this signal stops Celery configuring logging."""
    from django.conf import settings

    dictConfig(settings.LOGGING)


@worker_process_shutdown.connect
def _flush_metrics(**kwargs: Any) -> None:
    """A prefork child ends with ``os._exit``: no atexit handler runs, so the metrics it added
    up since the last flush (core.metrics_store) are written here, or they would be lost."""
    from core.metrics_store import flush_all

    flush_all()
