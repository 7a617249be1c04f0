"""Hostile input gets the JSON error envelope and a 4xx, never a 500 (issue 14)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from sync.models import SyncJob

pytestmark = pytest.mark.django_db

JOBS = "/api/admin/sync-jobs/"


@pytest.fixture
def staff_client(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    return api_client


def _post_json(client, text: str):
    return client.generic("POST", JOBS, text, content_type="application/json")


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"\ud800": "x"}, "params"),
        ({"path": "\ud800.csv"}, "params"),
        ({"ok": ["\ud800"]}, "params"),
    ],
)
def test_a_lone_surrogate_in_params_is_a_400_naming_the_field(staff_client, params, field):
    body = json.dumps({"kind": "catalog_import", "params": params})  # escapes it as \\ud800
    error = _error(_post_json(staff_client, body), 400)
    assert error["detail"] == {field: ["Holds text that is not valid Unicode (a lone surrogate)."]}
    assert not SyncJob.objects.exists()


def test_a_lone_surrogate_as_a_top_level_key_is_a_400(staff_client):
    error = _error(_post_json(staff_client, '{"\\ud800": 1}'), 400)
    assert list(error["detail"]) == ["non_field_errors"]


@pytest.mark.parametrize("depth", [33, 940, 5000])
def test_deeply_nested_json_is_a_400(staff_client, depth):
    body = '{"kind": "catalog_import", "params": {"a": ' + "[" * depth + "]" * depth + "}}"
    error = _error(_post_json(staff_client, body), 400)
    assert error["code"] in ("invalid", "parse_error")
    assert list(error["detail"]) in (["params"], ["non_field_errors"])


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_json_body_over_the_limit_is_a_413_envelope(staff_client):
    body = json.dumps({"kind": "catalog_import", "params": {"pad": "x" * 2000}})
    assert _error(_post_json(staff_client, body), 413)["code"] == "too_large"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_form_body_over_the_limit_is_a_413_envelope(staff_client):
    response = staff_client.post(JOBS, {"kind": "x", "pad": "y" * 2000}, format="multipart")
    assert _error(response, 413)["code"] == "too_large"


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=5)
def test_too_many_fields_is_a_400_envelope(staff_client):
    data = {f"f{i}": "1" for i in range(20)}
    response = staff_client.post(JOBS, data, format="multipart")
    assert _error(response, 400)["code"] == "invalid"


def test_a_bad_host_under_the_api_is_a_400_envelope(client):
    error = _error(client.get("/api/songs/", HTTP_HOST="evil.example"), 400)
    assert error["code"] == "bad_host" and error["detail"] == {"Host": [error["message"]]}


def test_a_bad_host_elsewhere_keeps_django_page(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and "json" not in response["Content-Type"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/songs/search/?q=x&limit=abc", "limit"),
        ("/api/songs/?limit=-1", "limit"),
        (JOBS + "?status=nope", "status"),
    ],
)
def test_detail_is_a_list_of_messages_per_field_on_every_endpoint(staff_client, url, field):
    error = _error(staff_client.get(url), 400)
    assert list(error["detail"]) == [field]
    assert all(isinstance(m, str) for m in error["detail"][field])
