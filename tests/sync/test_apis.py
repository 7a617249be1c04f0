"""The staff-only REST API: permissions on every endpoint, bad input, the job life cycle."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from sync.models import JobStatus, SyncJob
from tests.sync.factories import SyncJobFactory

pytestmark = pytest.mark.django_db

LIST = "/api/admin/sync-jobs/"


def detail(job_id: int, action: str = "") -> str:
    return f"{LIST}{job_id}/{action + '/' if action else ''}"


def make_job(**fields: Any) -> SyncJob:
    return SyncJobFactory(**fields)


def endpoints(job_id: int) -> list[tuple[str, str]]:
    return [
        ("get", LIST),
        ("post", LIST),
        ("get", detail(job_id)),
        ("post", detail(job_id, "cancel")),
        ("post", detail(job_id, "retry")),
    ]


@pytest.fixture
def staff_client(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    return api_client


def test_anonymous_gets_401_on_every_endpoint(api_client, probe_kind):
    job = make_job()
    for method, url in endpoints(job.pk):
        response = getattr(api_client, method)(url, {"kind": "probe"}, format="json")
        assert response.status_code == 401, (method, url)
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Token")
    assert SyncJob.objects.count() == 1


def test_signed_in_non_staff_gets_403_on_every_endpoint(api_client, user, probe_kind):
    job = make_job()
    api_client.force_authenticate(user)
    for method, url in endpoints(job.pk):
        response = getattr(api_client, method)(url, {"kind": "probe"}, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json()["error"]["code"] == "permission_denied"
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and SyncJob.objects.count() == 1


def test_staff_token_authenticates(api_client, staff_user):
    token = Token.objects.create(user=staff_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get(LIST).status_code == 200


def test_start_a_job_then_a_second_start_returns_the_active_one(staff_client, probe_kind):
    response = staff_client.post(LIST, {"kind": "probe", "params": {"batches": 2}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "probe" and body["status"] == "pending"
    assert body["trigger"] == "api" and body["triggered_by"] == "operator"
    assert body["params"]["batches"] == 2 and body["already_active"] is False

    again = staff_client.post(LIST, {"kind": "probe"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"] and again.json()["already_active"] is True
    assert SyncJob.objects.count() == 1


def test_start_runs_the_job_after_commit(
    staff_client, probe_kind, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(LIST, {"kind": "probe"}, format="json")
    job = SyncJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.SUCCEEDED  # eager: no broker in this test


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({}, "invalid", "kind: This field is required."),
        ({"kind": "nope"}, "unknown_kind", "kind: unknown job kind 'nope'"),
        ({"kind": 5}, "unknown_kind", "kind: unknown job kind '5'"),
        ({"kind": "probe", "params": {"batches": "x"}}, "invalid_params", "params.batches:"),
        ({"kind": "probe", "params": {"typo": 1}}, "invalid_params", "params.typo: unknown"),
        ({"kind": "probe", "params": [1]}, "invalid_params", "params: expected an object"),
        ({"kind": "probe", "target_user": 999999}, "invalid", "target_user: Invalid pk"),
        ({"kind": "user_probe"}, "invalid_params", "target_user: user_probe needs"),
    ],
)
def test_bad_input_is_400_naming_the_problem(staff_client, probe_kind, body, code, message):
    response = staff_client.post(LIST, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(message), error["message"]
    assert not SyncJob.objects.exists()


def test_list_newest_first_with_filters(staff_client, probe_kind):
    old = make_job(kind="probe", status=JobStatus.FAILED)
    mid = make_job(kind="worker_check", status=JobStatus.SUCCEEDED)
    new = make_job(kind="probe", status=JobStatus.PENDING)
    response = staff_client.get(LIST)
    assert response.status_code == 200
    assert [j["id"] for j in response.json()["results"]] == [new.pk, mid.pk, old.pk]
    assert response.json()["count"] == 3
    by_kind = staff_client.get(LIST, {"kind": "probe"}).json()["results"]
    assert [j["id"] for j in by_kind] == [new.pk, old.pk]
    by_status = staff_client.get(LIST, {"status": "failed"}).json()["results"]
    assert [j["id"] for j in by_status] == [old.pk]
    both = staff_client.get(LIST, {"kind": "probe", "status": "pending"}).json()["results"]
    assert [j["id"] for j in both] == [new.pk]


def test_list_with_bad_status_filter_is_400(staff_client):
    response = staff_client.get(LIST, {"status": "exploded"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("status:")


def test_detail_shows_result_error_and_attempts(staff_client, probe_kind):
    from sync.services.jobs import job_create
    from sync.services.runner import job_run

    job = job_create(kind="probe", params={"fail": "permanent"}, trigger="api", enqueue=False).job
    job_run(job_id=job.pk)
    body = staff_client.get(detail(job.pk)).json()
    assert body["status"] == "failed"
    assert body["error"] == {"code": "probe_broke", "message": "the probe was told to break"}
    assert [(a["number"], a["outcome"]) for a in body["attempt_records"]] == [(1, "failed")]
    assert body["result"] == {} and body["retries"] == []


def test_unknown_job_is_404(staff_client):
    assert staff_client.get(detail(424242)).status_code == 404
    assert staff_client.post(detail(424242, "cancel")).status_code == 404
    assert staff_client.get(f"{LIST}abc/").status_code == 404


def test_cancel_pending_then_cancelling_a_finished_job_is_409(staff_client, probe_kind):
    job = make_job()
    response = staff_client.post(detail(job.pk, "cancel"))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    done = make_job(kind="worker_check", status=JobStatus.SUCCEEDED)
    response = staff_client.post(detail(done.pk, "cancel"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"
    done.refresh_from_db()
    assert done.status == JobStatus.SUCCEEDED


def test_cancel_running_job_asks_it_to_stop(staff_client, probe_kind):
    job = make_job(status=JobStatus.RUNNING)
    body = staff_client.post(detail(job.pk, "cancel")).json()
    assert body["status"] == "running" and body["cancel_requested"] is True


def test_retry_creates_linked_job_and_refuses_active_ones(staff_client, probe_kind):
    failed = make_job(status=JobStatus.FAILED, params={"batches": 1})
    response = staff_client.post(detail(failed.pk, "retry"))
    assert response.status_code == 201
    body = response.json()
    assert body["retry_of"] == failed.pk and body["id"] != failed.pk
    assert body["params"]["batches"] == 1 and body["status"] == "pending"

    response = staff_client.post(detail(body["id"], "retry"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_not_retryable"


def test_retry_of_a_job_whose_params_no_longer_validate_is_400(staff_client, import_dir):
    failed = make_job(kind="catalog_import", status=JobStatus.FAILED, params={"path": "gone.csv"})
    response = staff_client.post(detail(failed.pk, "retry"))
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("params.path: no such file")


@pytest.mark.django_db(transaction=True)
def test_create_answers_with_what_an_eager_job_became(api_client, django_user_model, probe_kind):
    """No broker (eager tasks), no transaction around the request: the job ran before the
    answer was written, so the 201 says it succeeded with its one attempt, not "pending"."""
    staff = django_user_model.objects.create_user(username="op", is_staff=True, is_superuser=True)
    api_client.force_authenticate(staff)
    response = api_client.post(LIST, {"kind": "probe"}, format="json")
    body = response.json()
    assert response.status_code == 201
    assert body["status"] == "succeeded" and body["attempts"] == 1
    assert [a["outcome"] for a in body["attempt_records"]] == ["succeeded"]
