"""The console as an operator reads it (issue 15): warning and error states, the bad rows,
timestamps, when Retry and Cancel are offered, the start form's file choice and labels, and
one batch-size limit for every way into the import."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.services import IMPORT_BATCH_SIZE_MAX
from sync.models import JobStatus, JobTrigger, SyncJob
from tests.sync.factories import SyncJobFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:sync_syncjob_changelist")
START = reverse("admin:sync_syncjob_start")
IMPORT = reverse("admin:sync_syncjob_import")
PROGRESS = reverse("admin:sync_syncjob_progress")


def page_of(client, job: SyncJob) -> str:
    return client.get(reverse("admin:sync_syncjob_change", args=[job.pk])).content.decode()


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def import_with_bad_rows() -> SyncJob:
    return SyncJobFactory(
        kind="catalog_import",
        trigger=JobTrigger.ADMIN,
        status=JobStatus.SUCCEEDED,
        progress_done=5,
        progress_total=5,
        progress_failed=2,
        params={"path": "abc_songs.csv", "fmt": "", "strict": False, "batch_size": 1000},
        result={
            "file": "abc_songs.csv",
            "rows_read": 5,
            "created": 3,
            "skipped": 2,
            "errors": [
                {"line": 3, "reason": "title: missing"},
                {"line": 5, "reason": "isrc: 'XX' is not a valid ISRC"},
            ],
            "errors_truncated": False,
        },
        started_at=datetime(2026, 11, 30, 6, 23, 4, tzinfo=UTC),
        finished_at=datetime(2026, 11, 30, 6, 23, 9, tzinfo=UTC),
    )


def test_a_success_with_bad_rows_is_a_warning_not_green(staff_client):
    job = import_with_bad_rows()
    listing = staff_client.get(CHANGELIST).content.decode()
    assert f'class="sync-status sync-warning" data-sync-status="{job.pk}"' in listing
    assert "Succeeded with 2 errors" in listing and "sync-progress-bar sync-warning" in listing
    [row] = staff_client.get(f"{PROGRESS}?id={job.pk}").json()["jobs"]
    assert row["state"] == "warning" and row["status"] == "succeeded"
    page = page_of(staff_client, job)
    assert 'id="job-warning"' in page and "2 of 5 items failed" in page


def test_bad_rows_are_a_table_of_line_and_reason(staff_client):
    page = page_of(staff_client, import_with_bad_rows())
    table = page[page.index('<table class="sync-row-errors"') :]
    table = table[: table.index("</table>")]
    assert "<th>Line</th><th>Reason</th>" in table
    assert "<tr><td>3</td><td>title: missing</td></tr>" in table
    assert "<tr><td>5</td><td>isrc: &#x27;XX&#x27; is not a valid ISRC</td></tr>" in table
    assert "&quot;errors&quot;" not in page  # no raw JSON of the bad rows
    assert "<tr><th>created</th><td>3</td></tr>" in page


def test_timestamps_are_to_the_second_with_the_time_zone(staff_client):
    job = import_with_bad_rows()
    page = page_of(staff_client, job)
    assert "2026-11-30 06:23:04 UTC" in page and "2026-11-30 06:23:09 UTC" in page
    assert "2026-11-30 06:23:04 UTC" in staff_client.get(CHANGELIST).content.decode()


def test_a_failed_job_shows_its_error_first_and_retry_unless_the_input_caused_it(staff_client):
    transient = SyncJobFactory(
        status=JobStatus.FAILED, error_code="spotify_unavailable", error_message="Spotify 503"
    )
    page = page_of(staff_client, transient)
    banner = page.index('id="job-error"')
    assert banner < page.index('<fieldset class="module aligned')
    assert "Failed: spotify_unavailable" in page and "Spotify 503" in page
    assert "Retry as a new job" in page

    bad_file = SyncJobFactory(
        kind="catalog_import",
        status=JobStatus.FAILED,
        error_code="import_file",
        error_message="file: no 'title' column (columns: name, artist)",
    )
    page = page_of(staff_client, bad_file)
    assert "no &#x27;title&#x27; column" in page[page.index('id="job-error"') :][:600]
    assert "Retry as a new job" not in page
    assert "retrying it would fail the same way" in page


def test_cancel_asks_for_confirmation_and_is_hidden_once_requested(staff_client):
    job = SyncJobFactory(status=JobStatus.RUNNING, started_at=datetime.now(UTC))
    page = page_of(staff_client, job)
    form = re.search(r'<form[^>]*id="cancel-job"[^>]*>', page)
    assert form and "window.confirm(" in form.group(0)

    staff_client.post(reverse("admin:sync_syncjob_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.cancel_requested_at is not None
    page = page_of(staff_client, job)
    assert 'id="cancel-job"' not in page and "Cancel job" not in page
    assert 'id="job-cancelling"' in page and "stops at its next batch boundary" in page


def test_start_a_job_offers_the_uploaded_files_with_readable_labels(
    staff_client, import_dir, django_capture_on_commit_callbacks
):
    (import_dir / "0123456789ab_my_songs.csv").write_text("title\nA\n", encoding="utf-8")
    page = staff_client.get(START).content.decode()
    select = page[page.index('<select name="catalog_import-path"') :]
    select = select[: select.index("</select>")]
    assert '<option value="0123456789ab_my_songs.csv">my_songs.csv (8 bytes, uploaded' in select
    assert '<input type="text" name="catalog_import-path"' not in page
    for label in ("Format:", "Batch size:", "Pause (ms):", "File:"):
        assert f">{label}</label>" in page, label

    with django_capture_on_commit_callbacks():
        staff_client.post(
            START,
            {
                "kind": "catalog_import",
                "catalog_import-path": "0123456789ab_my_songs.csv",
                "catalog_import-batch_size": "500",
            },
        )
    job = SyncJob.objects.get(kind="catalog_import")
    assert job.params["path"] == "0123456789ab_my_songs.csv"


def test_start_a_job_says_when_no_file_was_uploaded(staff_client, import_dir):
    page = staff_client.get(START).content.decode()
    assert "— no file uploaded yet —" in page
    assert "upload one on the Import songs page" in page


def test_one_batch_size_limit_for_the_forms_the_api_and_the_command(
    staff_client, api_client, staff_user, import_dir, write_file
):
    too_big = str(IMPORT_BATCH_SIZE_MAX + 1)
    upload = SimpleUploadedFile("songs.csv", b"title\nA\n")
    response = staff_client.post(IMPORT, {"file": upload, "batch_size": too_big})
    assert f"less than or equal to {IMPORT_BATCH_SIZE_MAX}" in response.content.decode()

    (import_dir / "songs.csv").write_text("title\nA\n", encoding="utf-8")
    api_client.force_authenticate(staff_user)
    response = api_client.post(
        "/api/admin/sync-jobs/",
        {"kind": "catalog_import", "params": {"path": "songs.csv", "batch_size": too_big}},
        format="json",
    )
    assert response.status_code == 400
    assert "params.batch_size" in response.json()["error"]["message"]

    with pytest.raises(CommandError, match=f"between 1 and {IMPORT_BATCH_SIZE_MAX}"):
        path = str(write_file("s.csv", "title\nA\n"))
        call_command("import_songs", path, "--batch-size", too_big)
    assert not SyncJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_eager_tasks_the_console_says_how_the_job_ended(client, django_user_model):
    """No worker (eager tasks): the job ran inside the request; the message says so rather
    than "Started job" for a job that has already finished."""
    staff = django_user_model.objects.create_superuser("op", "", "pw-op-12345")
    client.force_login(staff)
    response = client.post(
        START,
        {
            "kind": "worker_check",
            "worker_check-items": "5",
            "worker_check-batch_size": "2",
            "worker_check-pause_ms": "0",
        },
        follow=True,
    )
    job = SyncJob.objects.get(kind="worker_check")
    assert job.status == JobStatus.SUCCEEDED
    text = response.content.decode()
    assert f"Job #{job.pk} (worker_check) ran in the web process and succeeded." in text
    assert "Started job" not in text
