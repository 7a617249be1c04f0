"""Query-parameter serializers that refuse an empty value instead of quietly using a default.

DRF treats ``?limit=`` like a missing ``limit`` for an optional field and applies its default;
a client that sent ``limit=`` (a template that lost its value) is better told so: a 400 naming
the parameter, the same one ``core.pagination`` gives the paging parameters.
"""

from __future__ import annotations

import threading
from typing import Any

from rest_framework import serializers

EMPTY_MESSAGE = "Must not be empty: give a value, or leave the parameter out for its default."


# Each thread's bound fields of each query-parameter serializer (see QueryParamsSerializer.fields).
_thread_fields = threading.local()


class QueryParamsSerializer(serializers.Serializer):
    @property
    def fields(self) -> Any:
        """The declared fields, built once per class and thread instead of once per request.

        DRF deep-copies every declared field for each serializer instance, re-creating each
        field and its validators: most of the time validating a query string takes, on every
        search. A query-parameter serializer's fields hold nothing of a request (they are
        never partial, have no context-dependent defaults; the validation methods run on the
        serializer itself), so a thread's copy serves all its requests in turn.
        """
        built: dict[type, Any] = _thread_fields.__dict__.setdefault("by_class", {})
        fields = built.get(type(self))
        if fields is None:
            fields = built[type(self)] = serializers.Serializer.fields.func(self)  # type: ignore[attr-defined]
        elif fields.serializer is not self:
            # Bound to this serializer, not to the thread's first one: a field's ``parent``,
            # ``root`` and ``context`` (``partial``, the request) are this request's, and the
            # first request's serializer and data are not kept alive by the thread.
            fields.serializer = self
            for field in fields.values():
                field.parent = self
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist"):  # a QueryDict: the request's own parameters
            empty = {
                str(name): [EMPTY_MESSAGE]
                for name in self.fields
                if name in data and all(not v.strip() for v in data.getlist(name))
            }
            if empty:
                raise serializers.ValidationError(empty)
        return super().to_internal_value(data)


def int_schema(minimum: int, maximum: int | None = None) -> dict[str, Any]:
    """An OpenAPI integer schema with its bounds (for ``OpenApiParameter(type=...)``)."""
    schema: dict[str, Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def text_schema(max_length: int, min_length: int = 1) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def enum_schema(values: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}
