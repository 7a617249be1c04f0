"""The helper that keeps mocked Spotify bodies honest."""

from __future__ import annotations

import jsonschema
import pytest

from tests.spotify_integration.conftest import me_body, track_body
from tests.spotify_integration.openapi import SHARED_SPEC, VENDORED_SPEC, validate_response


def test_vendored_spec_matches_the_shared_one():
    # CI may have no ../shared; where both exist they must be the same file.
    if SHARED_SPEC.exists():
        assert SHARED_SPEC.read_bytes() == VENDORED_SPEC.read_bytes()
    assert VENDORED_SPEC.exists()


def test_helper_accepts_valid_bodies():
    validate_response("/me", "GET", 200, me_body())
    validate_response("/tracks/{id}", "GET", 200, track_body("4u7EnebtmKWzUH433cf5Qv"))


def test_helper_rejects_bodies_that_do_not_fit():
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/me", "GET", 200, {"account_id": 42})
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/tracks", "GET", 200, {"items": []})  # `tracks` is required
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/me", "GET", 429, {"error": {"message": "no status"}})
