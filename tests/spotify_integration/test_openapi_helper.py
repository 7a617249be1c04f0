"""The vendored Spotify spec and the helper that keeps mocked Spotify bodies honest."""

from __future__ import annotations

import jsonschema
import pytest

from tests.spotify_integration.fakes import error_body, me_body, track_body
from tests.spotify_integration.openapi import (
    VENDORED_SPEC,
    response_schema,
    spec,
    validate_response,
)

# Every Web API operation the tests mock (path as in the spec), with the statuses they use.
MOCKED_OPERATIONS = {
    "/me": (200, 401, 403, 429),
    "/tracks": (200, 403),
    "/tracks/{id}": (200, 404, 429, 502, 503),
    "/search": (200,),
    "/audio-features": (403,),
    "/me/playlists": (200,),
    "/playlists/{playlist_id}/items": (200, 403),
    "/me/player/recently-played": (200,),
}


def test_the_vendored_spec_is_an_openapi_3_description_of_the_web_api():
    assert VENDORED_SPEC.exists()
    document = spec()
    assert str(document["openapi"]).startswith("3.0.")
    assert document["servers"][0]["url"] == "https://api.spotify.com/v1"
    assert {"TrackObject", "PrivateUserObject", "ErrorObject"} <= set(
        document["components"]["schemas"]
    )


@pytest.mark.parametrize("path", sorted(MOCKED_OPERATIONS))
def test_every_operation_the_tests_mock_is_described(path):
    for status in MOCKED_OPERATIONS[path]:
        schema = response_schema(path, "GET", status)
        assert schema, f"GET {path} {status} has an empty schema"


def test_the_2026_shapes_are_the_ones_described():
    # Development-mode facts the client relies on (docs/spotify-api.md): /me has account_id,
    # playlist contents are read from /items.
    assert "/playlists/{playlist_id}/items" in spec()["paths"]
    validate_response("/me", "GET", 200, me_body())


def test_helper_accepts_valid_bodies():
    validate_response("/me", "GET", 200, me_body())
    validate_response("/tracks/{id}", "GET", 200, track_body("4u7EnebtmKWzUH433cf5Qv"))
    validate_response("/tracks/{id}", "GET", 404, error_body(404, "Not found"))


def test_helper_rejects_bodies_that_do_not_fit():
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/me", "GET", 200, {"account_id": 42})
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/tracks", "GET", 200, {"items": []})  # `tracks` is required
    with pytest.raises(jsonschema.ValidationError):
        validate_response("/me", "GET", 429, {"error": {"message": "no status"}})


def test_helper_refuses_a_status_the_spec_does_not_know():
    with pytest.raises(AssertionError):
        response_schema("/me", "GET", 302)
