"""The operations console: pages render for staff, are refused for others, and act via services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from sync.models import JobStatus, JobTrigger, SyncJob
from tests.sync.factories import SyncJobAttemptFactory, SyncJobFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:sync_syncjob_changelist")
START = reverse("admin:sync_syncjob_start")
IMPORT = reverse("admin:sync_syncjob_import")
PROGRESS = reverse("admin:sync_syncjob_progress")


def make_job(**fields: Any) -> SyncJob:
    fields.setdefault("trigger", JobTrigger.ADMIN)
    return SyncJobFactory(**fields)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def all_pages(job: SyncJob) -> list[str]:
    return [
        CHANGELIST,
        reverse("admin:sync_syncjob_change", args=[job.pk]),
        START,
        IMPORT,
        f"{PROGRESS}?id={job.pk}",
    ]


def test_pages_render_for_staff(staff_client, probe_kind):
    job = make_job(status=JobStatus.RUNNING, progress_total=200, progress_done=50)
    for url in all_pages(job):
        response = staff_client.get(url)
        assert response.status_code == 200, url
    page = staff_client.get(CHANGELIST).content.decode()
    assert f'data-sync-job="{job.pk}" data-active="1"' in page  # the bar the page polls
    assert "width: 25%" in page and "50 / 200" in page
    assert PROGRESS in page  # the polling script's endpoint
    assert "Start a job" in page and "Import songs" in page


@pytest.mark.parametrize("who", ["anonymous", "non_staff"])
def test_pages_are_refused_for_others(client, user, probe_kind, who):
    job = make_job()
    if who == "non_staff":
        client.force_login(user)
    for url in all_pages(job):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    for name in ("admin:sync_syncjob_cancel", "admin:sync_syncjob_retry"):
        response = client.post(reverse(name, args=[job.pk]))
        assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING and SyncJob.objects.count() == 1


def test_staff_without_sync_permissions_cannot_operate(client, probe_kind):
    viewer = UserFactory(username="viewer", staff=True)
    client.force_login(viewer)
    job = make_job(status=JobStatus.FAILED)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(START).status_code == 403
    assert client.post(reverse("admin:sync_syncjob_retry", args=[job.pk])).status_code == 403
    assert SyncJob.objects.count() == 1


def test_detail_is_read_only_and_shows_everything(staff_client, probe_kind):
    old = make_job(status=JobStatus.FAILED)
    job = make_job(
        status=JobStatus.FAILED,
        params={"batches": 7},
        result={"done": 70, "note": "kept"},
        error_code="probe_broke",
        error_message="the probe was told to break",
        attempts=2,
        retry_of=old,
    )
    SyncJobAttemptFactory(job=job, number=1, outcome="retrying", error_code="transient")
    SyncJobAttemptFactory(job=job, number=2, outcome="failed", error_code="probe_broke")
    page = staff_client.get(reverse("admin:sync_syncjob_change", args=[job.pk])).content.decode()
    assert "&quot;batches&quot;: 7" in page and "&quot;note&quot;: &quot;kept&quot;" in page
    assert "the probe was told to break" in page
    assert "transient" in page and "Retry of" in page
    assert 'name="_save"' not in page  # no save button: nothing here is editable
    assert "Retry as a new job" in page and "Cancel job" not in page


def test_list_filters(staff_client, probe_kind):
    now = timezone.now()
    failed = make_job(status=JobStatus.FAILED)
    slow = make_job(
        kind="worker_check",
        status=JobStatus.SUCCEEDED,
        started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=3),
    )
    quick = make_job(
        kind="catalog_import",
        status=JobStatus.SUCCEEDED,
        started_at=now - timedelta(seconds=20),
        finished_at=now - timedelta(seconds=10),
    )
    active = make_job(kind="catalog_import", status=JobStatus.RUNNING, started_at=now)

    def ids(query: str) -> set[int]:
        response = staff_client.get(f"{CHANGELIST}?{query}")
        return {job.pk for job in response.context["cl"].result_list}

    assert ids("show=failed") == {failed.pk}
    assert ids("show=slow") == {slow.pk}
    assert ids("show=active") == {active.pk}
    assert ids("kind=catalog_import") == {quick.pk, active.pk}
    assert ids("status__exact=succeeded") == {slow.pk, quick.pk}
    listed = staff_client.get(CHANGELIST).context["cl"].result_list
    assert [j.pk for j in listed] == [active.pk, quick.pk, slow.pk, failed.pk]  # newest first


def test_list_has_no_n_plus_one(staff_client, probe_kind, django_assert_max_num_queries):
    def add_jobs(n: int, offset: int) -> None:
        for i in range(n):
            who = UserFactory(username=f"u{offset + i}")
            make_job(
                kind=f"k{offset + i}",
                triggered_by=who,
                target_user=who,
                target_key=f"user:{who.pk}",
            )

    add_jobs(2, 0)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(CHANGELIST).status_code == 200
    add_jobs(30, 100)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert staff_client.get(CHANGELIST).status_code == 200


def test_bulk_cancel_and_retry_actions(staff_client, probe_kind):
    pending = make_job(kind="a")
    running = make_job(kind="b", status=JobStatus.RUNNING)
    finished = make_job(kind="c", status=JobStatus.SUCCEEDED)
    response = staff_client.post(
        CHANGELIST,
        {"action": "cancel_jobs", "_selected_action": [pending.pk, running.pk, finished.pk]},
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Cancelled 1; 1 running will stop at their next batch; 1 had already finished." in text
    pending.refresh_from_db()
    running.refresh_from_db()
    assert pending.status == JobStatus.CANCELLED and running.cancel_requested_at is not None

    failed = make_job(status=JobStatus.FAILED)
    response = staff_client.post(
        CHANGELIST,
        {"action": "retry_jobs", "_selected_action": [failed.pk, finished.pk]},
        follow=True,
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Started 1 retries; 0 already had an active job; 1 refused." in text
    assert SyncJob.objects.get(retry_of=failed).trigger == JobTrigger.ADMIN


def test_cancel_and_retry_buttons(staff_client, probe_kind):
    job = make_job()
    response = staff_client.post(reverse("admin:sync_syncjob_cancel", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    response = staff_client.post(reverse("admin:sync_syncjob_retry", args=[job.pk]))
    retry = SyncJob.objects.get(retry_of=job)
    assert response["Location"] == reverse("admin:sync_syncjob_change", args=[retry.pk])
    assert staff_client.get(reverse("admin:sync_syncjob_cancel", args=[job.pk])).status_code == 405


def test_start_page_offers_every_kind_and_starts_one(staff_client, probe_kind, staff_user):
    page = staff_client.get(START).content.decode()
    for kind in ("catalog_import", "worker_check", "probe"):
        assert f'value="{kind}"' in page
    assert 'name="worker_check-items"' in page and 'name="probe-batches"' in page

    response = staff_client.post(
        START,
        {
            "kind": "worker_check",
            "worker_check-items": "5",
            "worker_check-batch_size": "2",
            "worker_check-pause_ms": "0",
        },
    )
    job = SyncJob.objects.get(kind="worker_check")
    assert response["Location"] == reverse("admin:sync_syncjob_change", args=[job.pk])
    assert job.params == {"items": 5, "batch_size": 2, "pause_ms": 0}
    assert (job.trigger, job.triggered_by) == (JobTrigger.ADMIN, staff_user)


def test_start_page_shows_bad_params_on_the_form(staff_client, probe_kind):
    response = staff_client.post(
        START,
        {"kind": "worker_check", "worker_check-items": "-1", "worker_check-batch_size": "1"},
    )
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0" in response.content.decode()
    assert not SyncJob.objects.exists()
    response = staff_client.post(START, {"kind": "nope"}, follow=True)
    assert "unknown job kind" in response.content.decode()


def test_progress_endpoint_reports_running_jobs(staff_client, probe_kind):
    job = make_job(
        status=JobStatus.RUNNING,
        progress_done=30,
        progress_total=120,
        progress_failed=2,
        started_at=timezone.now(),
    )
    data = staff_client.get(f"{PROGRESS}?id={job.pk}&id=999999&id=bogus").json()
    [row] = data["jobs"]
    assert row["id"] == job.pk and row["active"] is True and row["status"] == "running"
    assert (row["done"], row["total"], row["failed"], row["percent"]) == (30, 120, 2, 25)


def test_import_page_uploads_and_starts_a_catalog_import(
    staff_client, import_dir, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("my songs.csv", b"title,artists\nA,B\n", content_type="text/csv")
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(IMPORT, {"file": upload, "batch_size": "500"})
    job = SyncJob.objects.get(kind="catalog_import")
    assert response["Location"] == reverse("admin:sync_syncjob_change", args=[job.pk])
    assert len(callbacks) == 1  # the job is enqueued when the upload's transaction commits
    stored = import_dir / job.params["path"]
    assert stored.read_bytes() == b"title,artists\nA,B\n"
    assert job.params["path"].endswith("my_songs.csv")
    assert job.params["batch_size"] == 500 and job.params["strict"] is False


def test_import_page_refuses_a_file_of_unknown_format(staff_client, import_dir):
    upload = SimpleUploadedFile("songs.xlsx", b"PK...")
    response = staff_client.post(IMPORT, {"file": upload, "batch_size": "1000"})
    assert response.status_code == 200
    assert "Cannot tell the format from the name" in response.content.decode()
    assert not SyncJob.objects.exists() and not any(import_dir.iterdir())


def test_import_while_another_import_is_active_shows_the_active_one(staff_client, import_dir):
    active = make_job(kind="catalog_import", status=JobStatus.RUNNING)
    upload = SimpleUploadedFile("songs.csv", b"title\n")
    response = staff_client.post(IMPORT, {"file": upload, "batch_size": "1000"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:sync_syncjob_change", args=[active.pk])
    assert "already active" in response.content.decode()
    assert SyncJob.objects.count() == 1 and not any(import_dir.iterdir())


def test_import_page_refuses_an_upload_over_the_cap(staff_client, import_dir, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    upload = SimpleUploadedFile("songs.csv", b"title\n" + b"A song\n" * 500)
    response = staff_client.post(IMPORT, {"file": upload, "batch_size": "1000"})
    assert response.status_code == 200
    assert "larger than 1,000 bytes (UPLOAD_MAX_BYTES)" in response.content.decode()
    assert not SyncJob.objects.exists() and not any(import_dir.iterdir())
