"""Load benchmark: search throughput against gunicorn on a 1M-song catalog, beside the floor.

    python bench/load.py [--songs 1000000] [--database encore_bench_load]
                         [--workers 2] [--threads 2] [--connections 8,16] [--duration 20]
                         [--cache off,on] [--mix zipf|fixed] [--distinct 4000] [--zipf 1.0]
                         [--prime 3] [--profile 200]

Serves Encore with gunicorn (``config/gunicorn.py``, the Procfile's configuration, with
``--workers`` / ``--threads`` given here) on a loopback port, with production-like settings
(DEBUG off, JSON request logs at INFO, PostgreSQL and Redis), and drives it with ``wrk``
(Debian: ``apt-get install wrk``) from the same machine:

1. the floor: ``GET /healthz`` (a database ``SELECT 1`` and a cache write, read and delete);
2. search: ``GET /api/songs/search/?q=..&limit=20``. ``--mix zipf`` (the default,
   bench/load_mix.py): a pool of about ``--distinct`` different queries of every kind
   bench/relevance.py measures, drawn from the catalog, asked by Zipf's law (``--zipf``, the
   exponent): some often, most rarely, as a search box's traffic is. ``--mix fixed``: the 25
   queries of ``bench/search.py`` in turn (every request after the first 25 a repeat).

Each configuration of ``--cache`` gets a server of its own: ``off`` with the search cache off
(``SEARCH_CACHE_SECONDS=0``: every search runs), ``on`` with it on (catalog/search_cache.py),
started cold (the catalog version advanced first, so nothing kept before counts), then
``--prime`` seconds of the mix (not counted: a server that has been up has its recent searches
in the cache). For each and each connection count it prints requests/s, p50/p95/p99 latency
(wrk's ``done()`` hook: wrk's own summary has no p95), errors and non-2xx answers, the share of
searches the cache answered (from the server's metrics), with the machine's load average
(``uptime``) before each run: on 2 shared cores anything else running shows. Then where each
request's CPU went: gunicorn's processes, Redis, wrk, and the rest of the machine's busy time
(PostgreSQL's backends, which come and go, are nearly all of it), and the cores' idle time.
``--profile N`` first times N searches in process through Django's full request path and
prints pyinstrument's tree.

The catalog: ``--database`` is reused when it holds ``--songs`` (99 %); otherwise it is
(re)created and loaded through the import's write path, as ``bench/search.py`` does (about
3 minutes for 1M on 2 cores). ``--database encore_bench_search`` reuses the search
benchmark's catalog without writing to it. Redis: ``REDIS_URL`` (default db 6).

Target (issue 14): search >= 400 req/s at p95 <= 50 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_mix import DONE_HOOK, query_pool, repeat_share, search_script, zipf_sequence  # noqa: E402
from bench.search import QUERIES  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER_LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")  # the server's: a JSON line a request
RESULT = re.compile(
    r"RESULT rps=(?P<rps>[\d.]+) p50=(?P<p50>[\d.]+) p95=(?P<p95>[\d.]+) p99=(?P<p99>[\d.]+) "
    r"errors=(?P<errors>\d+) non2xx=(?P<non2xx>\d+) n=(?P<n>\d+)"
)


def fixed_script() -> str:
    """A wrk script cycling through the search benchmark's 25 queries."""
    pool = [q for group in QUERIES.values() for q in group]
    return search_script(pool, list(range(len(pool))))


def song_count(database: str) -> int:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            return 0
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM catalog_song").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def ensure_catalog(database: str, songs: int) -> int:
    have = song_count(database)
    if have >= songs * 0.99:
        return have
    if database == "encore_bench_search":
        sys.exit("encore_bench_search is bench/search.py's: load it there, or use --database")
    from bench._common import setup_django
    from bench.search import load

    setup_django(database)
    load(songs)
    return song_count(database)


def server_env(database: str, cache_seconds: int = 300) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SEARCH_CACHE_SECONDS=str(cache_seconds),
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"),
        CACHE_KEY_PREFIX="encore-bench-load",
        DEBUG="false",
        SECRET_KEY="bench-load-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL=SERVER_LOG_LEVEL,
        LOG_FORMAT="json",
    )
    return env


def start_gunicorn(
    args: argparse.Namespace, port: int, log: Path, cache_seconds: int
) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).with_name("gunicorn")), "config.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
        "--threads", str(args.threads),
    ]  # fmt: skip
    if (ROOT / "config" / "gunicorn.py").exists():
        command[2:2] = ["--config", "config/gunicorn.py"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=ROOT, env=server_env(args.database, cache_seconds), stdout=out, stderr=out
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit(f"gunicorn did not answer /healthz within 60 s; see {log}")


def wrk(url: str, script: Path, connections: int, seconds: int, start: int = 0) -> dict[str, float]:
    """One wrk run; ``start``: where in the mix's sequence it begins."""
    threads = str(min(2, connections))
    out = subprocess.run(
        ["wrk", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s",
         "-s", str(script), url, "--", str(start), threads],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = RESULT.search(out)
    if match is None:
        sys.exit(f"wrk printed no result:\n{out}")
    return {k: float(v) for k, v in match.groupdict().items()}


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> tuple[float, float]:
    """Seconds of CPU the machine has spent busy and idle (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK"), idle / os.sysconf("SC_CLK_TCK")


def cpu_by_service(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the web server (gunicorn and its workers), Redis, wrk (this
    process's finished children), everything else (PostgreSQL's backends come and go: they
    are most of it) and idle, from the machine's own count."""
    totals = {"web": 0.0, "redis": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if int(entry) == server_pid or parent == server_pid:
            totals["web"] += _cpu_of(int(entry))
        elif name.startswith("redis-server"):
            totals["redis"] += _cpu_of(int(entry))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals["wrk"] = children.ru_utime + children.ru_stime
    busy, totals["idle"] = _machine_cpu()
    totals["postgres+rest"] = busy - totals["web"] - totals["redis"] - totals["wrk"]
    return totals


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: float) -> str:
    """Milliseconds of CPU per request, by service (what each request costs the 2 cores)."""
    spent = {k: (after[k] - before[k]) * 1000 / max(requests, 1) for k in before}
    idle = spent.pop("idle")
    parts = " ".join(f"{k} {v:.1f}" for k, v in spent.items())
    return f"{parts} = {sum(spent.values()):.1f}, idle {idle:.1f}"


def searches_counted() -> dict[str, float]:
    """Searches the server has recorded so far, by how the local part was answered (``ok``:
    searched, ``cached``: from the search cache), from the shared metrics."""
    from core.metrics import metrics_store

    # The server's processes write their figures once a second (METRICS_FLUSH_SECONDS): wait
    # for the last second of a run to be counted in that run, not in the next one.
    time.sleep(1.5)
    fields = metrics_store().read().get("encore_search_duration_seconds", {})
    return {status: fields.get(f'count|["local","{status}"]', 0.0) for status in ("ok", "cached")}


def cache_share(before: dict[str, float], after: dict[str, float]) -> str:
    ok, cached = (after[k] - before[k] for k in ("ok", "cached"))
    return f"{100 * cached / (ok + cached):.0f} %" if ok + cached else "-"


def make_cache_cold() -> None:
    """Advance the catalog version: nothing the cache kept before counts."""
    from django.core.cache import cache

    from catalog.version import VERSION_KEY, new_version

    cache.set(VERSION_KEY, new_version(), timeout=None)


def profile(requests: int) -> None:
    """Time searches in process through Django's whole request path; print where it goes."""
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(HTTP_HOST="127.0.0.1")
    queries = [q for group in QUERIES.values() for q in group]
    for q in queries:
        client.get("/api/songs/search/", {"q": q, "limit": 20})
    wall, cpu = time.perf_counter(), time.process_time()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for i in range(requests):
        client.get("/api/songs/search/", {"q": queries[i % len(queries)], "limit": 20})
    profiler.stop()
    wall_ms = (time.perf_counter() - wall) * 1000 / requests
    cpu_ms = (time.process_time() - cpu) * 1000 / requests
    print(f"in process, {requests} searches: {wall_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU of this")
    print("process each (the rest is waiting for PostgreSQL and Redis); profiler on:")
    print(profiler.output_text(unicode=False, color=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--songs", type=int, default=1_000_000)
    parser.add_argument("--database", default="encore_bench_load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", default="8,16")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--port", type=int, default=8806)
    parser.add_argument("--cache", default="off,on", help="search cache per server: off,on")
    parser.add_argument("--mix", choices=["zipf", "fixed"], default="zipf")
    parser.add_argument("--distinct", type=int, default=4000, help="queries in the zipf pool")
    parser.add_argument("--zipf", type=float, default=1.0, help="the zipf exponent s")
    parser.add_argument("--mix-seed", type=int, default=7)
    parser.add_argument(
        "--prime", type=int, default=3, help="seconds of the mix before measuring (not counted)"
    )
    parser.add_argument("--profile", type=int, default=0, help="searches to profile first")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    songs = ensure_catalog(args.database, args.songs)
    print(f"catalog: {songs:,} songs in {args.database}; {os.cpu_count()} CPUs")
    os.environ.update(server_env(args.database))
    os.environ["LOG_LEVEL"] = "WARNING"  # this process's: no log line per request profiled
    import django

    django.setup()
    if args.profile:
        profile(args.profile)

    work = Path(tempfile.mkdtemp(prefix="encore-load-"))
    search_lua, floor_lua = work / "search.lua", work / "floor.lua"
    if args.mix == "zipf":
        started = time.monotonic()
        pool = query_pool(args.distinct, args.mix_seed)
        sequence = zipf_sequence(pool, 400_000, args.zipf, args.mix_seed)
        search_lua.write_text(search_script(pool, sequence))
        first = 100 * repeat_share(sequence[:10_000])
        print(f"mix: {len(pool):,} distinct queries (seed {args.mix_seed}, drawn in "
              f"{time.monotonic() - started:.0f} s), zipf s={args.zipf}: in a sequence of "
              f"{len(sequence):,} requests {100 * repeat_share(sequence):.0f} % repeat an "
              f"earlier one, in its first 10,000 {first:.0f} %")  # fmt: skip
    else:
        search_lua.write_text(fixed_script())
        print("mix: bench/search.py's 25 queries in turn")
    floor_lua.write_text(DONE_HOOK)
    print(f"gunicorn: {args.workers} workers x {args.threads} threads; {args.prime} s of the mix "
          f"before measuring; logs in {work}")  # fmt: skip
    print(f"\n{'endpoint':<16}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'non-2xx':>9}{'cached':>8}   load before the run")  # fmt: skip
    costs: dict[tuple[str, int], str] = {}
    for mode in args.cache.split(","):
        cache_seconds = 300 if mode == "on" else 0
        server = start_gunicorn(args, args.port, work / f"gunicorn-{mode}.log", cache_seconds)
        base = f"http://127.0.0.1:{args.port}"
        position = 0
        try:
            make_cache_cold()
            # Warm connections, plans and caches; with --prime, run the traffic a while first,
            # as a server that has been up has (its cache holds what was asked lately).
            warm = wrk(base, search_lua, 8, args.prime, position)
            position += int(warm["n"])
            for connections in [int(c) for c in args.connections.split(",")]:
                for name, url, script in [
                    ("/healthz", f"{base}/healthz", floor_lua),
                    (f"search, cache {mode}", base, search_lua),
                ]:
                    before, counted = load_average(), searches_counted()
                    cpu = cpu_by_service(server.pid)
                    r = wrk(url, script, connections, args.duration, position)
                    costs[name, connections] = cpu_per_request(
                        cpu, cpu_by_service(server.pid), r["n"]
                    )
                    share = cache_share(counted, searches_counted())
                    if script is search_lua:
                        position += int(r["n"])
                    else:
                        share = ""
                    print(f"{name:<16}{connections:>6}{r['rps']:>9.0f}{r['p50']:>9.1f}"
                          f"{r['p95']:>9.1f}{r['p99']:>9.1f}{r['errors']:>8.0f}"
                          f"{r['non2xx']:>9.0f}{share:>8}   {before}", flush=True)  # fmt: skip
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    print("\nCPU ms per request (web = gunicorn's processes; postgres+rest = the machine's busy "
          "time less the others; idle = the cores' idle time):")  # fmt: skip
    for (name, connections), cost in costs.items():
        print(f"{name:<16}{connections:>6}   {cost}")
    print("\ntarget: search >= 400 req/s at p95 <= 50 ms (2 cores)")


if __name__ == "__main__":
    main()
