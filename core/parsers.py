"""The API's JSON parser: DRF's, bounded in size and depth, and refusing text that is not Unicode.

DRF reads a JSON body whole with no size limit (Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only
guards ``request.body`` and forms), ``json.loads`` raises ``RecursionError`` (a 500) for deep
nesting, and a lone surrogate (``"\\ud800"``) parses fine but breaks the first encode to UTF-8
(PostgreSQL, a file path, the JSON response). Each is a 400 (413 for the size) here instead.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.utils import json


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The request body is too large."


# Deeper than any request Encore accepts (job params are flat) yet far from Python's limit.
MAX_JSON_DEPTH = 32


def _field_of(path: list[str]) -> str:
    return path[0] if path else "non_field_errors"


def check_json_value(value: Any) -> None:
    """Raise a ValidationError naming the top-level field when ``value`` nests deeper than
    ``MAX_JSON_DEPTH`` or holds a string (or key) that is not valid Unicode. Iterative: a
    hostile document cannot exhaust the stack here."""
    stack: list[tuple[Any, list[str], int]] = [(value, [], 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise exceptions.ValidationError(
                {_field_of(path): [f"Nested deeper than {MAX_JSON_DEPTH} levels."]}
            )
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check_text(key, path)
                stack.append((inner, path or [key], depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, path, depth + 1) for inner in item)


def _check_text(text: str, path: list[str]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise exceptions.ValidationError(
            {_field_of(path): ["Holds text that is not valid Unicode (a lone surrogate)."]}
        ) from None


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise BodyTooLarge(f"The request body is over {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            data = json.loads(text, parse_constant=json.strict_constant) if raw else None
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels"
            ) from None
        check_json_value(data)
        return data
