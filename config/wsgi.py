import os

from django.core.wsgi import get_wsgi_application

# The deploy processes (gunicorn, Celery) fail closed: production settings unless told.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
