"""Import benchmark: a 1,000,000-row CSV into PostgreSQL; rows per second and peak memory.

    python bench/import.py [--rows 1000000]

Target (issue 2): >= 20,000 rows/s and peak RSS <= 300 MB. The CSV comes from the demo
catalog's synthetic generator (so it has featured artists, accents and shared titles), is
written once to bench/data/ and reused. The import runs in a child process so that its peak
RSS is its own, not the generator's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import DATA, ROOT, setup_django


def write_csv(path: Path, rows: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()
    from catalog.demo import synthetic_records
    from catalog.services import records_write

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        records_write(out=fh, fmt="csv", records=synthetic_records(rows, seed=1))
    tmp.rename(path)


def child(path: str) -> None:
    setup_django("encore_bench_import")
    from catalog.services import song_import

    started = time.perf_counter()
    report = song_import(path=path, batch_size=5000)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('shared_buffers')")
        server, shared_buffers = cursor.fetchone()
    print(json.dumps({"report": {k: v for k, v in report.as_dict().items() if k != "errors"},
                      "seconds": seconds, "peak_rss_mb": peak_mb,
                      "server": f"{server.split(' on ')[0]}, shared_buffers {shared_buffers}, "
                                f"{os.cpu_count()} CPUs"}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    path = DATA / f"songs-{args.rows}.csv"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        t = time.perf_counter()
        write_csv(path, args.rows)
        print(f"  {time.perf_counter() - t:.1f} s, {path.stat().st_size / 1e6:.0f} MB", flush=True)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    report = result["report"]
    rate = report["rows_read"] / result["seconds"]
    print(result["server"])
    print(f"rows: {report['rows_read']:,}  created: {report['created']:,}  "
          f"skipped: {report['skipped']:,}")  # fmt: skip
    print(f"time: {result['seconds']:.1f} s")
    print(f"rate: {rate:,.0f} rows/s   (target >= 20,000)")
    print(f"peak RSS: {result['peak_rss_mb']:.0f} MB   (target <= 300 MB)")


if __name__ == "__main__":
    main()
