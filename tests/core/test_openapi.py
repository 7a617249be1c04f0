"""Encore's own OpenAPI schema tells the truth: every status an endpoint answers, good input
or bad, is documented for that operation, and the body validates against what is documented.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from catalog.models import Song
from sync.models import JobStatus
from tests.catalog.factories import SongFactory
from tests.sync.factories import SyncJobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client) -> dict[str, Any]:
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def conforms(schema: dict[str, Any], template: str, method: str, response) -> None:
    operation = schema["paths"][template][method]
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{method.upper()} {template} answered {status}, documented: "
        f"{sorted(operation['responses'])}: {response.content[:300]!r}"
    )
    content = operation["responses"][status].get("content")
    if content is None:
        return
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body_schema = {**content["application/json"]["schema"], "components": schema["components"]}
    OAS30Validator(body_schema, format_checker=oas30_format_checker).validate(response.json())


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    error_ref = "#/components/schemas/Error"
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            errors = [s for s in responses if int(s) >= 400]
            assert errors, f"{method.upper()} {template} documents no error response"
            for status in errors:
                ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == error_ref, (method, template, status)
                assert responses[status]["description"], (method, template, status)


def test_catalog_answers_conform(schema, api_client, demo_catalog):
    song = Song.objects.order_by("id").first()
    cases = [
        ("/api/songs/", "/api/songs/", {}, 200),
        ("/api/songs/", "/api/songs/", {"limit": "many"}, 400),
        ("/api/songs/", "/api/songs/", {"cursor": "not-a-cursor"}, 400),
        ("/api/songs/{id}/", f"/api/songs/{song.id}/", {}, 200),
        ("/api/songs/{id}/", "/api/songs/999999999/", {}, 404),
        ("/api/songs/{id}/", "/api/songs/0.5/", {}, 404),
        ("/api/songs/search/", "/api/songs/search/", {"q": "queen"}, 200),
        ("/api/songs/search/", "/api/songs/search/", {"q": ""}, 400),
        ("/api/songs/search/", "/api/songs/search/", {"q": "a", "offset": "-1"}, 400),
    ]
    for template, url, params, expected in cases:
        response = api_client.get(url, params)
        assert response.status_code == expected, (url, params, response.content[:200])
        conforms(schema, template, "get", response)


def test_sync_job_answers_conform(schema, api_client, user, staff_user):
    jobs, job = "/api/admin/sync-jobs/", "/api/admin/sync-jobs/{id}/"
    response = api_client.get(jobs)
    assert response.status_code == 401
    conforms(schema, jobs, "get", response)
    api_client.force_authenticate(user)
    response = api_client.get(jobs)
    assert response.status_code == 403
    conforms(schema, jobs, "get", response)

    api_client.force_authenticate(staff_user)
    done = SyncJobFactory(kind="worker_check", status=JobStatus.SUCCEEDED)
    cases = [
        ("get", jobs, jobs, {}, 200),
        ("get", jobs, jobs, {"status": "bogus"}, 400),
        ("post", jobs, jobs, {"kind": "no_such_kind"}, 400),
        ("get", job, f"{jobs}{done.pk}/", {}, 200),
        ("get", job, f"{jobs}424242/", {}, 404),
        ("get", job, f"{jobs}abc/", {}, 404),
        ("post", f"{job}cancel/", f"{jobs}{done.pk}/cancel/", {}, 409),
        ("post", f"{job}retry/", f"{jobs}{done.pk}/retry/", {}, 409),
    ]
    for method, template, url, data, expected in cases:
        if method == "get":
            response = api_client.get(url, data)
        else:
            response = api_client.post(url, data, format="json")
        assert response.status_code == expected, (url, data, response.content[:200])
        conforms(schema, template, method, response)


def test_spotify_answers_conform(schema, api_client, user, settings):
    settings.SPOTIFY_CLIENT_ID = ""
    settings.SPOTIFY_CLIENT_SECRET = ""
    response = api_client.get("/api/spotify/status/")
    assert response.status_code in (401, 403)
    conforms(schema, "/api/spotify/status/", "get", response)

    api_client.force_authenticate(user)
    cases = [
        ("get", "/api/spotify/status/", {}, 200),
        ("post", "/api/spotify/connect/", {}, 503),
        ("delete", "/api/spotify/connection/", {"purge": "perhaps"}, 400),
        ("delete", "/api/spotify/connection/", {}, 200),
        ("get", "/api/spotify/callback/", {}, 400),
    ]
    for method, template, data, expected in cases:
        if method == "delete":
            query = "&".join(f"{k}={v}" for k, v in data.items())
            response = api_client.delete(f"{template}?{query}")
        elif method == "get":
            response = api_client.get(template, data, HTTP_ACCEPT="application/json")
        else:
            response = api_client.post(template, data, format="json")
        assert response.status_code == expected, (template, data, response.content[:200])
        conforms(schema, template, method, response)


def test_unknown_api_paths_answer_json_and_other_paths_html(client, db):
    response = client.get("/api/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("url", "params", "name"),
    [
        ("/api/songs/", {"limit": "many"}, "limit"),
        ("/api/songs/", {"limit": "0"}, "limit"),
        ("/api/songs/", {"limit": "101"}, "limit"),
        ("/api/songs/", {"limit": "--5"}, "limit"),
        ("/api/songs/", {"cursor": "\u2603"}, "cursor"),
        ("/api/songs/", {"cursor": "cD1hYmM="}, "cursor"),  # base64 of "p=abc"
        ("/api/admin/sync-jobs/", {"limit": "-3"}, "limit"),
        ("/api/admin/sync-jobs/", {"limit": "201"}, "limit"),
        ("/api/admin/sync-jobs/", {"offset": "-1"}, "offset"),
        ("/api/admin/sync-jobs/", {"offset": "1e3"}, "offset"),
    ],
)
def test_bad_paging_parameters_are_a_400_naming_the_parameter(
    api_client, staff_user, url, params, name
):
    api_client.force_authenticate(staff_user)
    response = api_client.get(url, params)
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"]["message"].startswith(f"{name}: ")


def test_good_paging_parameters_still_page(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    SyncJobFactory.create_batch(3, kind="worker_check", status=JobStatus.SUCCEEDED)
    body = api_client.get("/api/admin/sync-jobs/", {"limit": "2", "offset": "1"}).json()
    assert body["count"] == 3 and len(body["results"]) == 2
    SongFactory(title="One", artist_names="A")
    SongFactory(title="Two", artist_names="B")
    first = api_client.get("/api/songs/", {"limit": "1"}).json()
    assert [s["title"] for s in first["results"]] == ["One"]
    second = api_client.get(first["next"]).json()
    assert [s["title"] for s in second["results"]] == ["Two"]


def test_an_unexpected_failure_under_the_api_answers_the_json_error(rf):
    from core.views import server_error

    response = server_error(rf.get("/api/songs/"))
    assert response.status_code == 500
    body = json.loads(response.content)
    assert body["error"]["code"] == "server_error"
    page = server_error(rf.get("/admin/"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
