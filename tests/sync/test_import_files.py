"""The import folder (``sync.services.import_files``): uploads, and the purge of old files."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sync.exceptions import InvalidJobParams
from sync.models import JobStatus, JobTrigger, SyncJob
from sync.services.import_files import (
    import_file_resolve_local,
    import_files_purge,
    import_upload_start,
)
from sync.tasks import sync_import_files_purge_task
from tests.sync.factories import SyncJobFactory

pytestmark = pytest.mark.django_db


def _age(path, days: float) -> None:
    when = time.time() - days * 24 * 60 * 60
    os.utime(path, (when, when))


def test_old_import_files_no_active_job_names_are_purged(import_dir, songs_csv, settings):
    settings.SYNC_IMPORT_FILE_RETENTION_DAYS = 7
    old, recent, queued = songs_csv("old.csv"), songs_csv("recent.csv"), songs_csv("queued.csv")
    (import_dir / "folder").mkdir()
    _age(import_dir / old, 8)
    _age(import_dir / recent, 6)
    _age(import_dir / queued, 30)
    job = SyncJobFactory(kind="catalog_import", params={"path": queued, "batch_size": 10})

    assert sync_import_files_purge_task.apply().get() == [old]
    assert sorted(p.name for p in import_dir.iterdir()) == ["folder", queued, recent]
    assert import_files_purge() == []  # a second run has nothing left to do

    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    assert import_files_purge() == [queued]


def test_purging_without_an_import_folder_does_nothing(settings, tmp_path):
    settings.SYNC_IMPORT_DIR = str(tmp_path / "never-made")
    assert import_files_purge() == []


def test_a_file_a_job_names_after_the_purge_listed_jobs_is_kept(import_dir, songs_csv, monkeypatch):
    name = songs_csv("late.csv")
    _age(import_dir / name, 30)
    real_iterdir = type(import_dir).iterdir

    def iterdir_then_retry(folder):
        # A retry naming the file arrives between the purge's job query and its deletes.
        SyncJobFactory(kind="catalog_import", params={"path": name, "batch_size": 10})
        return real_iterdir(folder)

    monkeypatch.setattr(type(import_dir), "iterdir", iterdir_then_retry)
    assert import_files_purge() == []
    assert (import_dir / name).exists()


def _upload(name: str = "songs.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"title,artists\nA,B\n", content_type="text/csv")


def test_an_upload_is_stored_and_a_job_reads_it(import_dir):
    request = import_upload_start(
        upload=_upload(), params={"batch_size": 10}, trigger=JobTrigger.ADMIN, triggered_by=None
    )
    assert request.created
    name = request.job.params["path"]
    assert name.endswith("_songs.csv") and (import_dir / name).read_bytes().startswith(b"title")


def test_an_upload_no_new_job_will_read_is_deleted(import_dir):
    first = import_upload_start(upload=_upload(), params={}, trigger="admin", triggered_by=None)
    again = import_upload_start(upload=_upload(), params={}, trigger="admin", triggered_by=None)
    assert again.already_active and again.job.pk == first.job.pk
    with pytest.raises(InvalidJobParams, match=r"params\.batch_size"):
        import_upload_start(
            upload=_upload(), params={"batch_size": 0}, trigger="admin", triggered_by=None
        )
    assert [p.name for p in import_dir.iterdir()] == [first.job.params["path"]]


def test_a_command_line_file_parameter_is_resolved_into_the_import_folder(import_dir, tmp_path):
    (import_dir / "inside.csv").write_text("title\n")
    (tmp_path / "local.csv").write_text("title\nA\n")
    assert import_file_resolve_local(value="inside.csv") == "inside.csv"
    staged = import_file_resolve_local(value=str(tmp_path / "local.csv"))
    assert staged.endswith("_local.csv") and (import_dir / staged).read_text() == "title\nA\n"
    assert import_file_resolve_local(value="nowhere.csv") == "nowhere.csv"
