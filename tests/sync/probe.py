"""A job kind for tests only: counts its runs and fails or cancels on request.

The real worker runs in a thread of the test process, so it sees this kind once the test
registered it, and ``RUNS`` shows every run from every thread.
"""

from __future__ import annotations

import threading
from typing import Any

from django import forms

from sync.exceptions import JobFailed, TransientJobError
from sync.models import SyncJob
from sync.registry import JobKind, TargetPolicy

RUNS: list[tuple[int, int]] = []  # (job id, attempt number) per run
_lock = threading.Lock()


class ProbeParams(forms.Form):
    batches = forms.IntegerField(min_value=0, max_value=1000, initial=3)
    batch_size = forms.IntegerField(min_value=1, max_value=1000, initial=10)
    fail = forms.ChoiceField(
        choices=[
            ("", "no"),
            ("transient", "transient"),
            ("permanent", "permanent"),
            ("refused", "refused"),
        ],
        required=False,
        initial="",
    )
    fail_times = forms.IntegerField(min_value=0, initial=1)
    cancel_after_batch = forms.IntegerField(min_value=0, initial=0)


class ProbeFailure(Exception):
    code = "probe_broke"


def probe_run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        RUNS.append((ctx.job_id, ctx.attempt_number))
    if params["fail"] == "transient" and ctx.attempt_number <= params["fail_times"]:
        raise TransientJobError("upstream answered 503")
    if params["fail"] == "permanent":
        raise ProbeFailure("the probe was told to break")
    if params["fail"] == "refused":
        raise JobFailed("3 things were wrong", code="probe_refused", result={"wrong": [1, 2, 3]})
    total = params["batches"] * params["batch_size"]
    done = 0
    for batch in range(1, params["batches"] + 1):
        done += params["batch_size"]
        ctx.add_spotify_calls(1)
        if params["cancel_after_batch"] == batch:
            # An operator cancels from another request while this batch runs.
            from sync.services.jobs import job_cancel

            job_cancel(job=SyncJob.objects.get(pk=ctx.job_id))
        if not ctx.checkpoint(done=done, total=total):
            break
    return {"done": done}


PROBE = JobKind(
    name="probe",
    label="Probe",
    description="Test kind.",
    run=probe_run,
    params_form=ProbeParams,
    repeatable=True,
    max_attempts=3,
)

USER_PROBE = JobKind(
    name="user_probe",
    label="User probe",
    description="Test kind that works on one user's data.",
    run=probe_run,
    params_form=ProbeParams,
    repeatable=False,
    target=TargetPolicy.REQUIRED,
)
