"""What the test session runs on, for its header and summary (``make test`` says it)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def describe_services() -> str:
    """``PostgreSQL (127.0.0.1:5432/encore) + Redis (127.0.0.1:6379/15)``, or the embedded
    default's ``SQLite + local-memory cache`` (then the PostgreSQL- and Redis-only tests skip)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        database = (
            f"PostgreSQL ({db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']})"
        )
    else:
        database = "SQLite"
    if settings.REDIS_URL:
        url = urlsplit(settings.REDIS_URL)  # host, port and db only: never a password
        cache = f"Redis ({url.hostname}:{url.port or 6379}{url.path or '/0'})"
    else:
        cache = "local-memory cache, no Redis"
    line = f"encore: tests run on {database} + {cache}"
    if db["ENGINE"] != "django.db.backends.postgresql" or not settings.REDIS_URL:
        line += " (tests that need PostgreSQL or Redis are skipped; CI runs them)"
    return line
