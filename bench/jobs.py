"""Benchmark: 1,000 small sync jobs through a real Celery worker on Redis and PostgreSQL.

    DATABASE_URL=postgres://… REDIS_URL=redis://… python bench/jobs.py [--jobs 1000]

Creates a throw-away database (``test_<name>``, dropped at the end), starts a Celery worker
(solo pool, in a thread of this process, consuming a queue of its own from Redis), creates
the jobs through ``job_create`` (validation, insert, publish on commit) and waits until every
one has succeeded. Each job counts 20 items in 2 batches, so its own work is nearly nothing
and what is measured is the framework: claim (conditional UPDATE, load, attempt row),
progress (one UPDATE per checkpoint) and finish (job and attempt UPDATEs).

Prints: the enqueue rate, jobs per second through the worker, and per job the milliseconds
spent in claim, progress and finish (median and p95) with the queries they took, plus what
Celery itself adds per job (fetch, ack, signals) and a calibration: the cost of one bare
autocommit UPDATE at that moment, since the machine's I/O load moves every figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/encore")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("LOG_LEVEL", "WARNING")


@dataclass
class JobTiming:
    start: float = 0.0
    kind_enter: float = 0.0
    kind_exit: float = 0.0
    end: float = 0.0
    progress: float = 0.0
    checkpoints: int = 0
    queries: int = 0
    progress_queries: int = 0


@dataclass
class Recorder:
    timings: dict[int, JobTiming] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    local: threading.local = field(default_factory=threading.local)
    kind: Callable[..., dict[str, Any]] | None = None

    def current(self) -> JobTiming:
        return self.local.timing


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def instrumented(recorder: Recorder) -> Iterator[None]:
    """Time the framework's phases inside the worker by wrapping the functions that run them."""
    from django.db import connection

    import sync.tasks
    from sync.kinds import worker_check_run
    from sync.services.context import JobContext

    real_job_run = sync.tasks.job_run
    real_checkpoint = JobContext.checkpoint

    def counting(timing: JobTiming, attr: str) -> Callable[..., Any]:
        def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any):
            setattr(timing, attr, getattr(timing, attr) + 1)
            return execute(sql, params, many, ctx)

        return wrapper

    def timed_job_run(**kwargs: Any) -> Any:
        timing = JobTiming(start=time.perf_counter())
        recorder.local.timing = timing
        with connection.execute_wrapper(counting(timing, "queries")):
            outcome = real_job_run(**kwargs)
        timing.end = time.perf_counter()
        with recorder.lock:
            recorder.timings[kwargs["job_id"]] = timing
        return outcome

    def timed_checkpoint(self: JobContext, **kwargs: Any) -> bool:
        timing = recorder.current()
        started = time.perf_counter()
        with connection.execute_wrapper(counting(timing, "progress_queries")):
            result = real_checkpoint(self, **kwargs)
        timing.progress += time.perf_counter() - started
        timing.checkpoints += 1
        return result

    def timed_kind(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        timing = recorder.current()
        timing.kind_enter = time.perf_counter()
        try:
            return worker_check_run(ctx, params)
        finally:
            timing.kind_exit = time.perf_counter()

    sync.tasks.job_run = timed_job_run
    JobContext.checkpoint = timed_checkpoint  # type: ignore[method-assign]
    recorder.kind = timed_kind
    try:
        yield
    finally:
        sync.tasks.job_run = real_job_run
        JobContext.checkpoint = real_checkpoint  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    import django

    django.setup()
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from django.db.models import Count
    from django.test.utils import setup_databases, teardown_databases

    from config.celery import app
    from sync.kinds import WorkerCheckParams
    from sync.models import JobStatus, JobTrigger, SyncJob
    from sync.registry import JobKind, TargetPolicy, registered
    from sync.services.jobs import job_create

    if connection.vendor != "postgresql":
        sys.exit("bench/jobs.py needs PostgreSQL: set DATABASE_URL")
    queue = f"encore-bench-jobs-{os.getpid()}"
    settings.SYNC_TASK_QUEUE = queue
    app.conf.task_always_eager = False
    recorder = Recorder()

    # One target user per job: at most one job per kind and target may be active, and the
    # point is to have all of them queued at once.
    def bench_run(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return recorder.kind(ctx, params)

    kind = JobKind(
        name="bench_noop",
        label="Benchmark no-op",
        description="20 items in 2 batches, no data touched.",
        run=bench_run,
        params_form=WorkerCheckParams,
        repeatable=True,
        target=TargetPolicy.REQUIRED,
    )
    params = {"items": 20, "batch_size": 10, "pause_ms": 0}

    print(f"database: {connection.settings_dict['HOST']} (throw-away test database)")
    databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"bench{i}") for i in range(args.jobs)
        )
        commit_ms = _commit_latency(users[0].pk)
        with registered(kind), instrumented(recorder):
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)
            # Enqueue first, then start the worker: the two phases are measured apart, and
            # the worker is not slowed by sharing this process with the enqueue loop.
            t0 = time.perf_counter()
            for target in users:
                job_create(
                    kind=kind.name, params=params, trigger=JobTrigger.COMMAND, target_user=target
                )
            t_enqueued = time.perf_counter()
            with start_worker(
                app, pool="solo", perform_ping_check=False, queues=[queue], loglevel="WARNING"
            ):
                t_worker = time.perf_counter()
                deadline = t_worker + args.timeout
                while len(recorder.timings) < args.jobs:
                    if time.perf_counter() > deadline:
                        sys.exit(f"timed out: {len(recorder.timings)}/{args.jobs} jobs ran")
                    time.sleep(0.05)
                t_done = time.perf_counter()
            statuses = dict(
                SyncJob.objects.order_by().values_list("status").annotate(n=Count("id"))
            )
            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)
    finally:
        for conn in connections.all():
            conn.close()
        _terminate_other_sessions(connection)
        teardown_databases(databases, verbosity=0)

    timings = list(recorder.timings.values())
    claim = [(t.kind_enter - t.start) * 1000 for t in timings]
    progress = [t.progress * 1000 for t in timings]
    finish = [(t.end - t.kind_exit) * 1000 for t in timings]
    own = [((t.kind_exit - t.kind_enter) - t.progress) * 1000 for t in timings]
    overhead = [c + p + f for c, p, f in zip(claim, progress, finish, strict=True)]
    total = [(t.end - t.start) * 1000 for t in timings]
    first_start = min(t.start for t in timings)
    last_end = max(t.end for t in timings)
    checkpoints = statistics.mean(t.checkpoints for t in timings)
    queries = statistics.mean(t.queries for t in timings)
    progress_queries = statistics.mean(t.progress_queries for t in timings)

    def row(label: str, values: list[float], note: str = "") -> str:
        median, p95 = statistics.median(values), percentile(values, 0.95)
        return f"  {label:<28} {median:7.2f} ms median  {p95:7.2f} ms p95  {note}"

    n = len(timings)
    succeeded = statuses.get(JobStatus.SUCCEEDED, 0)
    print(
        f"jobs: {n} through a Celery worker (solo pool, Redis broker, PostgreSQL); "
        f"succeeded: {succeeded}"
    )
    print(
        f"enqueue: {n / (t_enqueued - t0):.0f} jobs/s ({t_enqueued - t0:.2f} s for {n}: "
        "job_create = validate, insert, publish on commit)"
    )
    print(
        f"throughput: {n / (last_end - first_start):.0f} jobs/s through the worker "
        f"({last_end - first_start:.2f} s from first claim to last finish; "
        f"{n / (t_done - t_worker):.0f} jobs/s including worker start-up)"
    )
    print(
        f"calibration: one autocommit UPDATE takes {commit_ms:.2f} ms median on this database; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print("per job:")
    print(row("claim", claim, "(UPDATE pending→running, load, attempt INSERT)"))
    print(
        row(
            f"progress ({checkpoints:.0f} checkpoints)",
            progress,
            f"({progress_queries:.1f} queries: one UPDATE per batch)",
        )
    )
    print(row("finish", finish, "(job UPDATE, attempt UPDATE)"))
    print(row("framework overhead", overhead, f"(claim+progress+finish, {queries:.1f} queries)"))
    print(row("kind's own work", own))
    print(row("job_run total", total))
    celery_ms = (last_end - first_start) / n * 1000 - statistics.mean(total)
    print(
        f"  {'Celery + broker, outside job_run':<28} {celery_ms:7.2f} ms mean (fetch, ack, signals)"
    )
    if succeeded != args.jobs:
        sys.exit(f"only {succeeded} of {args.jobs} jobs succeeded: {statuses}")


def _commit_latency(user_id: int, rounds: int = 200) -> float:
    """Median time of a one-row UPDATE in its own transaction: the unit the framework pays."""
    from django.db import connection

    samples = []
    with connection.cursor() as cursor:
        for _ in range(rounds):
            started = time.perf_counter()
            cursor.execute("UPDATE auth_user SET last_name = '' WHERE id = %s", [user_id])
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _terminate_other_sessions(connection: Any) -> None:
    """End sessions still open on the benchmark database so it can be dropped."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
    connection.close()


if __name__ == "__main__":
    main()
