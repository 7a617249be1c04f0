"""Hostile import files through the import job: a clear input error, in bounded memory and time.

The files are generated here (``tests/proof/hostile.py``): a gzip that inflates to 1 GiB of
rows, a gzip holding one 1 GiB line, 100,000 columns, random bytes, UTF-16 and a fake gzip.
The caps are small here (``SYNC_IMPORT_MAX_BYTES``, ``SYNC_IMPORT_MAX_LINE_CHARS``) so the
refusals come fast; memory is Python's allocation peak (tracemalloc) while the job runs.
"""

from __future__ import annotations

import time
import tracemalloc
from functools import partial
from pathlib import Path

import pytest

from sync.models import JobStatus, SyncJob
from sync.services.jobs import job_create
from tests.proof import hostile

pytestmark = pytest.mark.faults
MiB = 1 << 20


@pytest.fixture
def folder(settings, tmp_path: Path) -> Path:
    folder = tmp_path / "imports"
    folder.mkdir()
    settings.SYNC_IMPORT_DIR = str(folder)
    settings.SYNC_IMPORT_MAX_BYTES = 256 * 1024
    settings.SYNC_IMPORT_MAX_LINE_CHARS = 64 * 1024
    return folder


def _run_import(path: Path, capture) -> tuple[SyncJob, float, int]:
    """Create the import job and run it as the worker would (its message sent on commit)."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        with capture(execute=True):
            request = job_create(kind="catalog_import", params={"path": path.name}, trigger="api")
    finally:
        seconds = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return SyncJob.objects.get(pk=request.job.pk), seconds, peak


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "says"),
    [
        (hostile.decompression_bomb, "SYNC_IMPORT_MAX_BYTES"),
        (hostile.one_long_line, "SYNC_IMPORT_MAX_LINE_CHARS"),
        (hostile.many_columns, "SYNC_IMPORT_MAX_LINE_CHARS"),
        (partial(hostile.many_columns, columns=5000), "c9 and 4,990 more"),
        (hostile.binary, "not UTF-8 text"),
        (hostile.utf16, "not UTF-8 text"),
        (hostile.not_gzip, "gzip"),
    ],
    ids=[
        "gzip-bomb-1GiB",
        "one-1GiB-line",
        "100k-columns",
        "5k-columns",
        "binary",
        "utf-16",
        "fake-gzip",
    ],
)
def test_hostile_file_fails_the_import_clearly_in_bounded_memory_and_time(
    folder, django_capture_on_commit_callbacks, make, says
):
    path = make(folder)
    assert path.stat().st_size < 8 * MiB  # nothing big ever touches the disk

    job, seconds, peak = _run_import(path, django_capture_on_commit_callbacks)

    assert job.status == JobStatus.FAILED, job.result
    assert job.error_code == "import_file", (job.error_code, job.error_message[:300])
    assert says in job.error_message
    assert len(job.error_message) < 2000  # a message a person reads, not the file echoed
    assert peak < 64 * MiB, f"{peak / MiB:.0f} MiB"
    assert seconds < 20
