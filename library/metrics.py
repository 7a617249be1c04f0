"""The library's metrics (docs/metrics.md): plays written, gaps found and filled."""

from __future__ import annotations

from core.metrics import record_library_event


def record_plays(*, source: str, count: int) -> None:
    if count:
        record_library_event(event="plays_" + source, amount=count)


def record_gap() -> None:
    record_library_event(event="gap_found")


def record_gaps_filled(count: int) -> None:
    if count:
        record_library_event(event="gap_filled", amount=count)
