"""The API fuzzed for longer: tests/proof/test_schemathesis.py with many more examples.

    python bench/fuzz_api.py [--examples 300] [--database encore_bench_fuzz]

Runs the CI test's checks (no 5xx; status, content type and body as the OpenAPI schema
documents) over every operation as anonymous, a plain user and staff, with ``--examples``
generated requests per operation and role instead of CI's 12, on a scratch PostgreSQL test
database (``test_<database>``, made and dropped by pytest-django) and Redis (``REDIS_URL``,
default db 6). Prints the requests sent by status class, the failures and the time taken.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Figures:
    def __init__(self) -> None:
        self.outcomes: dict[str, int] = {}
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report) -> None:  # type: ignore[no-untyped-def]
        if report.when == "call":
            self.outcomes[report.outcome] = self.outcomes.get(report.outcome, 0) + 1
            if report.failed:
                self.failed.append(report.nodeid)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--database", default="encore_bench_fuzz")
    args = parser.parse_args()
    os.environ["FUZZ_EXAMPLES"] = str(args.examples)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import pytest

    figures = Figures()
    started = time.monotonic()
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "--create-db", "tests/proof/test_schemathesis.py"],
        plugins=[figures],
    )
    seconds = time.monotonic() - started
    from tests.proof.test_schemathesis import SENT

    sent = sum(SENT.values())
    print(f"\nexamples per operation and role: {args.examples}")
    print(f"tests (operation x role): {figures.outcomes}")
    print(f"requests sent: {sent:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(SENT.items()))})")
    print(f"failures: {len(figures.failed)}" + "".join(f"\n  {n}" for n in figures.failed))
    print(f"time: {seconds:.0f} s ({sent / seconds:.0f} requests/s); "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    sys.exit(int(code))


if __name__ == "__main__":
    main()
