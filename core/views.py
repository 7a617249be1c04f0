from __future__ import annotations

import hmac
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.db import close_old_connections, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from core.addresses import address_in
from core.breaker import spotify_breaker
from core.exceptions import error_body
from core.metrics import metrics_exposition

# The database check runs in this one thread (with its own connection, reused) so that a hung
# server costs /healthz HEALTHZ_TIMEOUT, not the request: a stuck check leaves the thread busy,
# and later checks queue behind it and time out too until the server answers again.
_db_checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz-db")


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        fn()
    except FutureTimeout:
        return {"ok": False, "error": "Timeout"}
    except Exception as exc:  # a health check reports any failure, it never raises
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


def _select_one() -> None:
    close_old_connections()  # CONN_MAX_AGE and CONN_HEALTH_CHECKS for this thread's connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def healthz_checker_close() -> None:
    """Close the check thread's database connection (tests, before the test database goes)."""
    from django.db import connections

    _db_checker.submit(connections.close_all).result(timeout=10)


def _database() -> None:
    _db_checker.submit(_select_one).result(timeout=settings.HEALTHZ_TIMEOUT)


def _cache() -> None:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache read back a different value")
    cache.delete(key)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the cache both answer, 503 otherwise. The Spotify breaker's
    state is reported too, never failing the check: search works without Spotify."""
    checks = {"database": _check(_database), "cache": _check(_cache)}
    healthy = all(c["ok"] for c in checks.values())
    checks["spotify_breaker"] = {"ok": True, **spotify_breaker().state().as_dict()}
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path no route matches: the API's JSON error under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(
            error_body("not_found", f"No API endpoint or object at {request.path}."), status=404
        )
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own refusals before any view (a bad Host, a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields): the API's JSON error under /api/."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        body = error_body("too_large", "The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE.")
        return JsonResponse(body, status=413)
    if isinstance(exception, DisallowedHost):
        message = "The Host header names a host this server does not serve."
        return JsonResponse(error_body("bad_host", message, {"Host": [message]}), status=400)
    message = "The request is malformed or too large (too many fields or files)."
    return JsonResponse(
        error_body("bad_request", message, {"non_field_errors": [message]}), status=400
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """An unhandled error (logged by Django): the API's JSON error under /api/."""
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=500,
        )
    return defaults.server_error(request)


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        # Bytes: compare_digest raises TypeError on a str with a non-ASCII character, and
        # a header is whatever the client sends.
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    if address_in(request.META.get("REMOTE_ADDR", ""), settings.METRICS_ALLOWED_IPS):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Every process's figures in the Prometheus text format (see docs/metrics.md).

    Allowed with the bearer ``METRICS_TOKEN``, from an address in ``METRICS_ALLOWED_IPS``, or
    to signed-in staff. Otherwise 401 when a token is configured (the scraper's credentials are
    wrong), else 404: the endpoint does not announce itself.
    """
    if not _metrics_allowed(request):
        if settings.METRICS_TOKEN:
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        raise Http404
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)
