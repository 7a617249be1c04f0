"""Empty parameters are 400s naming them, and the schema states each parameter's bounds and
values, so a generator (schemathesis) can make valid requests (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    return api_client


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/songs/search/?q=queen&limit=", "limit"),
        ("/api/songs/search/?q=queen&offset=", "offset"),
        ("/api/songs/search/?q=queen&year_min=", "year_min"),
        ("/api/songs/search/?q=queen&explicit=", "explicit"),
        ("/api/songs/search/?q=queen&spotify=", "spotify"),
        ("/api/songs/?artist=", "artist"),
        ("/api/songs/?limit=", "limit"),
        ("/api/admin/sync-jobs/?status=", "status"),
        ("/api/admin/sync-jobs/?kind=%20", "kind"),
        ("/api/admin/sync-jobs/?limit=", "limit"),
        ("/api/admin/sync-jobs/?offset=", "offset"),
    ],
)
def test_an_empty_parameter_is_a_400_naming_it(staff_client, url, field):
    response = staff_client.get(url)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["detail"]) == [field]


def test_an_empty_purge_is_a_400(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.delete("/api/spotify/connection/?purge=")
    assert response.status_code == 400
    assert list(response.json()["error"]["detail"]) == ["purge"]


def _params(schema: dict[str, Any], path: str, method: str = "get") -> dict[str, dict]:
    return {p["name"]: p["schema"] for p in schema["paths"][path][method]["parameters"]}


def test_the_schema_carries_the_bounds_and_enums(staff_client):
    schema = staff_client.get("/api/schema/", {"format": "json"}).json()
    search = _params(schema, "/api/songs/search/")
    assert search["q"] == {"type": "string", "minLength": 1, "maxLength": 200}
    assert search["limit"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert search["offset"] == {"type": "integer", "minimum": 0, "maximum": 500}
    assert search["year_min"] == {"type": "integer", "minimum": 1000, "maximum": 2100}
    assert sorted(search["spotify"]["enum"]) == ["always", "auto", "never"]
    songs = _params(schema, "/api/songs/")
    assert songs["limit"]["maximum"] == 100 and "enum" in songs["match_status"]
    jobs = _params(schema, "/api/admin/sync-jobs/")
    assert jobs["status"]["enum"] == ["pending", "running", "succeeded", "failed", "cancelled"]
    assert jobs["limit"] == {"type": "integer", "minimum": 1, "maximum": 200}
    components = schema["components"]["schemas"]
    kind = components["SyncJobCreateInputRequest"]["properties"]["kind"]
    ref = kind["allOf"][0]["$ref"].rsplit("/", 1)[1] if "allOf" in kind else None
    kinds = components[ref]["enum"] if ref else kind["enum"]
    assert {"catalog_import", "worker_check"} <= set(kinds)


def test_operations_with_a_body_document_the_413(staff_client):
    schema = staff_client.get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/admin/sync-jobs/"]["post"]["responses"]
    assert "413" in create and "413" not in schema["paths"]["/api/songs/"]["get"]["responses"]
