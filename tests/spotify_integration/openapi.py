"""Validate mocked Spotify Web API bodies against the OpenAPI description of the API.

The spec is ``spotify-openapi.yml`` next to this file: a vendored copy of sonallux's corrected
description of the Web API (version 2026.5.31). The accounts service (token endpoint) is not
in the spec; its bodies are kept to the documented token response by ``token_body`` in
``fakes.py`` instead.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

VENDORED_SPEC = Path(__file__).resolve().parent / "spotify-openapi.yml"

# Error statuses the spec does not list per path still carry Spotify's error object.
_ERROR_RESPONSES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    429: "TooManyRequests",
}


@cache
def spec() -> dict[str, Any]:
    """The parsed vendored spec."""
    with VENDORED_SPEC.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    _map_discriminators(loaded)
    return loaded


def _map_discriminators(node: Any) -> None:
    """Give each ``discriminator`` on ``type`` its mapping ("track" -> TrackObject, ...).

    The spec leaves it out, and the validator would then look for a schema named like the
    value (``#/components/schemas/track``), which does not exist.
    """
    if isinstance(node, dict):
        found = node.get("discriminator")
        if isinstance(found, dict) and "mapping" not in found and "oneOf" in node:
            refs = [o["$ref"] for o in node["oneOf"] if "$ref" in o]
            found["mapping"] = {
                ref.rsplit("/", 1)[-1].removesuffix("Object").lower(): ref for ref in refs
            }
        for value in node.values():
            _map_discriminators(value)
    elif isinstance(node, list):
        for value in node:
            _map_discriminators(value)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    target: Any
    while "$ref" in node:
        target = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema(path: str, method: str, status: int) -> dict[str, Any]:
    """The JSON schema of ``method path`` answering ``status`` (path as in the spec)."""
    operation = spec()["paths"][path][method.lower()]
    responses = operation["responses"]
    if str(status) in responses:
        response = _resolve(responses[str(status)])
    elif status >= 500 or status in _ERROR_RESPONSES:
        response = _resolve(
            spec()["components"]["responses"][_ERROR_RESPONSES.get(status, "BadRequest")]
        )
    else:
        raise AssertionError(f"{method} {path} has no {status} response in the spec")
    return response["content"]["application/json"]["schema"]


def validate_response(path: str, method: str, status: int, body: Any) -> None:
    """Raise jsonschema's ValidationError unless ``body`` fits the spec's response schema."""
    schema = {"allOf": [response_schema(path, method, status)], "components": spec()["components"]}
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)
