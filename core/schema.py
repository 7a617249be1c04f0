"""The OpenAPI schema's error responses, documented once for every operation.

Every error Encore answers has the body ``{"error": {code, message, detail}}``
(``core.exceptions``). ``ErrorDocumentingAutoSchema`` adds that body, with a description,
for each status an operation can answer besides its successes:

- 400 when it takes query parameters or a request body, and 413 for a body over the limit;
- 401 and 403 unless anyone may call it;
- 404 when its path names an object;
- 429 when it is throttled;
- and whatever else its view lists in ``error_responses`` (409, 502, 503 ...).

A status the operation's ``@extend_schema`` documents itself is left as written there.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    detail = serializers.JSONField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


BAD_REQUEST = "A parameter or a field is invalid; `error.message` names it."
UNAUTHENTICATED = "Not authenticated: no credentials, or a token that is not valid."
FORBIDDEN = "Authenticated, but not allowed to do this."
NOT_FOUND = "No such object."
THROTTLED = "Too many requests; the `Retry-After` header says when to try again."
TOO_LARGE = "The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE (`too_large`)."


class ErrorDocumentingAutoSchema(AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for status, description in self._error_statuses(operation).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_response(description), str(status)
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_statuses(self, operation: dict) -> dict[int, str]:
        view = self.view
        statuses: dict[int, str] = {}
        has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
        if has_query or "requestBody" in operation:
            statuses[400] = BAD_REQUEST
        if "requestBody" in operation:
            statuses[413] = TOO_LARGE
        if not all(isinstance(p, AllowAny) for p in view.get_permissions()):
            statuses[401] = UNAUTHENTICATED
            statuses[403] = FORBIDDEN
        if any(p.get("in") == "path" for p in operation.get("parameters", [])):
            statuses[404] = NOT_FOUND
        if view.get_throttles():
            statuses[429] = THROTTLED
        statuses.update(getattr(view, "error_responses", {}))
        return statuses
