"""Request logging: one structured line per request with its timing and a request id."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("encore.request")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
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
