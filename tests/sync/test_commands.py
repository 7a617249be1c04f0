"""``sync_run``, ``sync_status`` and ``setup_periodic_tasks``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from sync.models import JobStatus, JobTrigger, SyncJob
from tests.sync.factories import SyncJobFactory

pytestmark = pytest.mark.django_db


def run(*args: str, **kwargs: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_sync_run_in_the_foreground(probe_kind, capsys):
    out, _ = run("sync_run", "probe", "--param", "batches=4", "--param", "batch_size=5")
    job = SyncJob.objects.get()
    assert (job.status, job.trigger, job.progress_done) == (JobStatus.SUCCEEDED, "command", 20)
    assert job.params["batches"] == 4
    assert f"Job #{job.pk} probe: succeeded" in out and '"done": 20' in out
    assert "20/20" in capsys.readouterr().err  # the progress bar, on the real stderr


def test_sync_run_retries_transient_errors_in_the_foreground(probe_kind, fast_retries):
    out, _ = run("sync_run", "probe", "--param", "fail=transient", "--no-progress")
    job = SyncJob.objects.get()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert "succeeded" in out


def test_sync_run_exits_non_zero_when_the_job_fails(probe_kind):
    with pytest.raises(CommandError, match="probe_broke: the probe was told to break"):
        run("sync_run", "probe", "--param", "fail=permanent", "--no-progress")
    assert SyncJob.objects.get().status == JobStatus.FAILED


def test_sync_run_enqueue_prints_the_id(probe_kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        out, _ = run("sync_run", "probe", "--enqueue")
    job = SyncJob.objects.get()
    assert out.strip() == str(job.pk)
    assert job.status == JobStatus.PENDING and len(callbacks) == 1


def test_sync_run_with_an_active_job_reports_it(probe_kind):
    active = SyncJobFactory(status="running")
    out, err = run("sync_run", "probe", "--no-progress")
    assert out.strip() == str(active.pk)
    assert "already active" in err and SyncJob.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "kind: unknown job kind 'nope'"),
        (["probe", "--param", "batches"], "--param 'batches': expected KEY=VALUE."),
        (["probe", "--param", "batches=1", "--param", "batches=2"], "--param batches: given twice"),
        (["probe", "--param", "batches=x"], "params.batches: Enter a whole number."),
        (["user_probe", "--target-user", "ghost"], "--target-user: no user 'ghost'."),
    ],
)
def test_sync_run_bad_input(probe_kind, args, message):
    with pytest.raises(CommandError) as info:
        run("sync_run", *args)
    assert str(info.value).startswith(message)
    assert not SyncJob.objects.exists()


def test_sync_run_target_user(probe_kind, user):
    run("sync_run", "user_probe", "--target-user", user.username, "--no-progress")
    assert SyncJob.objects.get().target_user == user


def test_sync_run_copies_a_local_file_into_the_import_folder(import_dir, tmp_path: Path):
    local = tmp_path / "mine.csv"
    local.write_text("title,artists\n")
    run("sync_run", "catalog_import", "--param", f"path={local}", "--enqueue")
    job = SyncJob.objects.get()
    assert job.params["path"].endswith("_mine.csv")
    assert (import_dir / job.params["path"]).read_text() == "title,artists\n"


def test_sync_status_lists_and_shows(probe_kind):
    ok = SyncJobFactory(
        kind="worker_check",
        trigger=JobTrigger.COMMAND,
        status=JobStatus.SUCCEEDED,
        progress_done=10,
        progress_total=10,
        result={"items": 10},
    )
    bad = SyncJobFactory(
        kind="probe",
        trigger=JobTrigger.API,
        status=JobStatus.FAILED,
        error_code="probe_broke",
        error_message="broken",
        retry_of=ok,
    )
    bad.attempt_records.create(number=1, outcome="failed", error_code="probe_broke")
    table, _ = run("sync_status")
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["ID", "KIND", "STATUS"]
    assert lines[1].split()[:3] == [str(bad.pk), "probe", "failed"]  # newest first
    assert "10/10 (100%)" in lines[2]
    only_failed, _ = run("sync_status", "--status", "failed")
    assert "worker_check" not in only_failed

    shown, _ = run("sync_status", str(bad.pk))
    assert f"Job #{bad.pk}  probe  failed" in shown
    assert "error:      probe_broke: broken" in shown and f"retry of:   #{ok.pk}" in shown
    assert "1. failed" in shown
    result, _ = run("sync_status", str(ok.pk))
    assert '  result:\n    {\n      "items": 10\n    }' in result

    with pytest.raises(CommandError, match="No sync job #999999"):
        run("sync_status", "999999")


def test_setup_periodic_tasks_writes_the_reaper_and_is_repeatable():
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.create(name="encore: retired task", task="x.y", interval=every_hour)
    PeriodicTask.objects.create(name="made by hand", task="x.z", interval=every_hour)
    out, _ = run("setup_periodic_tasks")
    assert "created: encore: reap stale sync jobs (every 60 s)" in out
    assert "removed: encore: retired task" in out
    task = PeriodicTask.objects.get(task="sync.reap_stale_jobs")
    assert task.enabled and task.interval.every == 60 and task.interval.period == "seconds"

    out, _ = run("setup_periodic_tasks")
    assert "updated: encore: reap stale sync jobs" in out
    assert PeriodicTask.objects.filter(task="sync.reap_stale_jobs").count() == 1
    assert not PeriodicTask.objects.filter(name="encore: retired task").exists()
    assert PeriodicTask.objects.filter(name="made by hand").exists()  # not ours to remove
    purge = PeriodicTask.objects.get(task="sync.purge_import_files")
    assert purge.interval.every == 24 * 60 * 60 and purge.interval.period == "seconds"
