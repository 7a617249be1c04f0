"""Application errors with stable codes, and the one DRF handler that renders them.

Every error response has the shape ``{"error": {"code", "message", "detail"}}``. ``detail``
is null or an object. For a 400 (the request's input is at fault) it maps each field at fault
to a list of messages, ``{"limit": ["Must be between 1 and 200."]}`` (nested fields dotted,
``params.path``; a fault of no one field under ``non_field_errors``), on every endpoint. Other
errors carry null or the named facts their code documents (``reconnect_url``, ...).
See docs/api-errors.md.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """Base of every error Encore raises on purpose. Subclasses set ``code``/``http_status``."""

    code: str = "error"
    http_status: int = status.HTTP_400_BAD_REQUEST
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        return {}


class ValidationFailed(ApplicationError):
    code = "invalid"
    http_status = status.HTTP_400_BAD_REQUEST
    default_message = "Invalid input."


class Conflict(ApplicationError):
    code = "conflict"
    http_status = status.HTTP_409_CONFLICT
    default_message = "The request conflicts with the current state."


class RateLimited(ApplicationError):
    code = "rate_limited"
    http_status = status.HTTP_429_TOO_MANY_REQUESTS
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int = 1, detail: Any = None):
        super().__init__(message, detail=detail)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RequestTooLarge(ApplicationError):
    code = "too_large"
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_message = "The request body is too large."


class ServiceUnavailable(ApplicationError):
    """A service Encore depends on (Redis, the broker) does not answer; try again shortly."""

    code = "service_unavailable"
    http_status = status.HTTP_503_SERVICE_UNAVAILABLE
    default_message = "A service this request needs is unavailable; try again shortly."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


CACHE_ERRORS: tuple[type[Exception], ...] = (ConnectionInterrupted, RedisError)


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail}}


def _first_message(detail: Any) -> str:
    """A readable one-line message from DRF's nested validation detail, naming the field."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


_FIELD_PREFIX = re.compile(r"([A-Za-z_][\w.\[\]]*): (.+)", re.DOTALL)


def field_messages(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's validation detail (nested dicts, lists, strings) as ``{field: [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            for field, messages in field_messages(value, f"{prefix}{key}.").items():
                out.setdefault(field, []).extend(messages)
        return out
    field = prefix.rstrip(".") or "non_field_errors"
    if isinstance(detail, list):
        for position, item in enumerate(detail):
            if isinstance(item, dict | list):
                inner = field_messages(item, f"{prefix}{position}.")
                for key, messages in inner.items():
                    out.setdefault(key, []).extend(messages)
            else:
                out.setdefault(field, []).append(str(item))
        return out
    return {field: [str(detail)]}


def _application_detail(exc: ApplicationError) -> Any:
    """A 400's detail as ``{field: [messages]}``, from the ``field: text`` message convention
    (or the one field its detail names); other statuses keep their named facts."""
    if exc.http_status != status.HTTP_400_BAD_REQUEST:
        return exc.detail
    if (
        isinstance(exc.detail, dict)
        and exc.detail
        and all(
            isinstance(v, list) and all(isinstance(m, str) for m in v) for v in exc.detail.values()
        )
    ):
        return exc.detail
    match = _FIELD_PREFIX.fullmatch(exc.message)
    if match:
        return {match.group(1): [match.group(2)]}
    if isinstance(exc.detail, dict) and len(exc.detail) == 1:
        return {next(iter(exc.detail)): [exc.message]}
    return {"non_field_errors": [exc.message]}


def _django_request_error(exc: Exception) -> ApplicationError | None:
    """Django's refusals of an oversized or overfull request body, as our errors."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge("The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE.")
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return ValidationFailed(f"Too many fields or files in the request ({exc}).")
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _django_request_error(exc) or exc
    if isinstance(exc, CACHE_ERRORS):
        # Any other use of the shared cache with Redis down: a clear 503, not a 500.
        exc = ServiceUnavailable("The shared cache (Redis) does not answer; try again shortly.")
    if isinstance(exc, ApplicationError):
        return Response(
            error_body(exc.code, exc.message, _application_detail(exc)),
            status=exc.http_status,
            headers=exc.headers(),
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    detail: dict[str, list[str]] | None
    if isinstance(exc, drf_exceptions.ValidationError):
        code, message, detail = "invalid", _first_message(exc.detail), field_messages(exc.detail)
    else:
        codes = exc.get_codes() if isinstance(exc, drf_exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        message = _first_message(getattr(exc, "detail", str(exc)))
        detail = {"non_field_errors": [message]} if response.status_code == 400 else None
    response.data = error_body(code, message, detail)
    return response
