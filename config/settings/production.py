"""Production settings: secrets have no defaults and a missing one stops the process at start.

The deploy processes use this module by default (config/wsgi.py, config/celery.py, the
Procfile, manage.py outside the embedded default); see docs/deploy.md for what refuses to start.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, SPECTACULAR_SETTINGS, env, postgres_timeouts
from .safety import check_https, check_not_development_secrets, check_token_keys

_DEVELOPMENT_HINT = " (for development, set DJANGO_SETTINGS_MODULE=config.settings.base)"

try:
    # env(...) without a default raises ImproperlyConfigured naming the variable.
    SECRET_KEY = env("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    DATABASES = {"default": env.db("DATABASE_URL")}
    TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS")
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(f"{exc}{_DEVELOPMENT_HINT}") from None
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set the ALLOWED_HOSTS environment variable")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
postgres_timeouts(DATABASES["default"])
if not TOKEN_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("Set the TOKEN_ENCRYPTION_KEYS environment variable")

DEBUG = False
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- issue 14: fail closed ----------------------------------------------------------------------
check_not_development_secrets(SECRET_KEY, TOKEN_ENCRYPTION_KEYS)
check_token_keys(TOKEN_ENCRYPTION_KEYS)
for _name in ("SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL", "SPOTIFY_REDIRECT_URI"):
    check_https(_name, globals()[_name], loopback_http=_name.endswith("URI"))
# JSON only: DRF's browsable API is a development aid.
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]
# /api/schema/ and /api/docs/ are for staff unless API_DOCS_PUBLIC opens them.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
if not API_DOCS_PUBLIC:
    SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.IsAdminUser"]
