"""Test settings: real PostgreSQL and Redis when reachable (or given), else the embedded default.

`make test` and plain `pytest` behave the same: ``DATABASE_URL`` / ``REDIS_URL`` win when
set; otherwise a server answering on its default local port is used. CI sets
``ENCORE_REQUIRE_SERVICES=1`` so that a missing server fails the run instead of testing less.
"""

from __future__ import annotations

import os
import socket

from django.core.exceptions import ImproperlyConfigured


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


if not os.environ.get("DATABASE_URL") and _reachable("127.0.0.1", 5432):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/encore"
if not os.environ.get("REDIS_URL") and _reachable("127.0.0.1", 6379):
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/15"

from .base import *  # noqa: E402,F403
from .base import CACHES, DATABASES, REDIS_URL, env  # noqa: E402

if env.bool("ENCORE_REQUIRE_SERVICES", default=False):
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("ENCORE_REQUIRE_SERVICES: PostgreSQL is not configured")
    if not REDIS_URL:
        raise ImproperlyConfigured("ENCORE_REQUIRE_SERVICES: Redis is not configured")

# Each xdist worker gets its own cache namespace so parallel tests never see each other's keys.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES["default"]["KEY_PREFIX"] = f"encore-test-{XDIST_WORKER}"

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True  # tests that need a real worker start one themselves
CELERY_BROKER_URL = REDIS_URL or "memory://"
MEDIA_ROOT = f"/tmp/encore-test-media-{XDIST_WORKER}"
SYNC_IMPORT_DIR = f"{MEDIA_ROOT}/imports"
TOKEN_ENCRYPTION_KEYS = ["p4eb6r7pEQWm0nIXnCxtrJ6S0CMbQ6jpJHlDOjKNk0Y="]
SPOTIFY_CLIENT_ID = "test-client-id"
SPOTIFY_CLIENT_SECRET = "test-client-secret"
# A test's own worker process is pointed at bench's fake Spotify through these two
# (tests/proof/test_spotify_faults.py); every other test mocks these hosts with ``responses``.
SPOTIFY_API_URL = env("ENCORE_TEST_SPOTIFY_API_URL", default="https://api.spotify.test/v1/")
SPOTIFY_ACCOUNTS_URL = env(
    "ENCORE_TEST_SPOTIFY_ACCOUNTS_URL", default="https://accounts.spotify.test/"
)
LOG_FORMAT = "text"
# Searches stay local unless a test asks for Spotify (spotify=auto|always, or this setting):
# the suite's searches must not depend on a Spotify answer.
SEARCH_SPOTIFY_DEFAULT = "never"

# Kept searches would outlive each test's rolled-back data (their version bumps run on commit):
# tests of the search cache turn it on themselves (tests/catalog/test_search_cache.py).
SEARCH_CACHE_SECONDS = 0

# Every recording writes through, so a test sees its figures in Redis at once and no flusher
# thread writes during a later test; tests/core/test_metrics_store.py tests the buffering.
METRICS_FLUSH_SECONDS = 0
