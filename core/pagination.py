"""Paginators that refuse bad paging parameters with a 400 naming the parameter.

DRF's own paginators quietly fall back to their defaults for ``limit=many`` or
``offset=-3``, and answer 404 to a cursor they cannot read; a client that sent a bad value
is better told so.
"""

from __future__ import annotations

import re

from rest_framework import exceptions, pagination

_INTEGER = re.compile(r"-?[0-9]{1,18}")


def query_int(request, name: str, *, minimum: int, maximum: int | None) -> int | None:
    """The integer query parameter ``name``, None when absent; a 400 when it is bad."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise exceptions.ValidationError({name: "A whole number is required."})
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise exceptions.ValidationError({name: f"Must be {bounds}."})
    return value


def _with_bounds(parameters: list[dict], bounds: dict[str, dict[str, int]]) -> list[dict]:
    """The paginator's schema parameters with the bounds it enforces written in."""
    for parameter in parameters:
        extra = bounds.get(parameter.get("name", ""))
        if extra:
            parameter["schema"] = {**parameter.get("schema", {}), **extra}
    return parameters


class StrictCursorPagination(pagination.CursorPagination):
    def get_schema_operation_parameters(self, view):
        bounds = {}
        if self.page_size_query_param:
            bounds[self.page_size_query_param] = {"minimum": 1}
            if self.max_page_size:
                bounds[self.page_size_query_param]["maximum"] = self.max_page_size
        return _with_bounds(super().get_schema_operation_parameters(view), bounds)

    def check_position(self, position: object) -> None:
        """Raise ValueError unless ``position`` fits the ordering (an integer id by default)."""
        int(str(position))

    def get_page_size(self, request):
        if self.page_size_query_param is None:
            return self.page_size
        size = query_int(request, self.page_size_query_param, minimum=1, maximum=self.max_page_size)
        return self.page_size if size is None else size

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                self.check_position(cursor.position)
        except (exceptions.NotFound, ValueError):
            raise exceptions.ValidationError(
                {self.cursor_query_param: "Not a cursor this API handed out."}
            ) from None
        return cursor


class StrictLimitOffsetPagination(pagination.LimitOffsetPagination):
    def get_schema_operation_parameters(self, view):
        limit: dict[str, int] = {"minimum": 1}
        if self.max_limit:
            limit["maximum"] = self.max_limit
        bounds = {self.limit_query_param: limit, self.offset_query_param: {"minimum": 0}}
        return _with_bounds(super().get_schema_operation_parameters(view), bounds)

    def get_limit(self, request):
        limit = query_int(request, self.limit_query_param, minimum=1, maximum=self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request):
        return query_int(request, self.offset_query_param, minimum=0, maximum=None) or 0
