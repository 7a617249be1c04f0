"""Faulty services for tests: a Redis that refuses, one that hangs (accepts, never answers)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

from django.core.cache import caches
from django.test import override_settings

from core.shared_state import cache_failure_reset


@contextlib.contextmanager
def hung_server() -> Iterator[int]:
    """A port that accepts connections and never answers, as a SIGSTOPped server does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@contextlib.contextmanager
def cache_at(location: str, timeout: float = 0.3) -> Iterator[None]:
    """The default cache as a real django-redis client pointed at ``location``."""
    broken = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": timeout, "SOCKET_TIMEOUT": timeout},
        }
    }
    with override_settings(CACHES=broken):
        caches._settings = caches.settings = broken  # type: ignore[attr-defined]
        caches._connections.__dict__.pop("default", None)
        cache_failure_reset()
        try:
            yield
        finally:
            del caches._settings  # type: ignore[attr-defined]
            caches._connections.__dict__.pop("default", None)
            cache_failure_reset()


@contextlib.contextmanager
def redis_refused() -> Iterator[None]:
    with cache_at("redis://127.0.0.1:1/0"):
        yield


@contextlib.contextmanager
def redis_hung() -> Iterator[None]:
    with hung_server() as port, cache_at(f"redis://127.0.0.1:{port}/0"):
        yield
