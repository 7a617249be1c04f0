"""Request logging (one structured line per request with its timing and a request id), and
the proxy headers believed only from the proxies in ``TRUSTED_PROXIES``."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.addresses import address_in

logger = logging.getLogger("encore.request")

# A caller's X-Request-ID is echoed and logged only when it looks like an id: no spaces,
# control characters or markup, and short (a UUID is 36 characters).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_PROXY_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST")


def request_id_for(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is well formed, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def peer_is_trusted_proxy(remote_addr: str) -> bool:
    # Settings are validated at start-up by core.checks; a bad entry is skipped here.
    return address_in(remote_addr, settings.TRUSTED_PROXIES)


class TrustedProxyMiddleware:
    """Drop X-Forwarded-Proto/-For/-Host unless the peer is one of ``TRUSTED_PROXIES``.

    Django (SECURE_PROXY_SSL_HEADER) and DRF's throttles (NUM_PROXIES) read these headers
    from any peer; removing them here, first in the chain, makes them mean "what our proxy saw".
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not peer_is_trusted_proxy(request.META.get("REMOTE_ADDR", "")):
            for header in _PROXY_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        # Static files (served by whitenoise) would drown the log at INFO: they go at DEBUG.
        level = logging.DEBUG if _is_static(request.path) else logging.INFO
        logger.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,  # never the query string: it can carry OAuth codes
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response


def _is_static(path: str) -> bool:
    prefix = settings.STATIC_URL or ""
    if "://" in prefix:  # static files on another host never reach this app
        return False
    return path.startswith("/" + prefix.lstrip("/"))
