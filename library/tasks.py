"""Celery tasks of the library: the beat fan-out (``sync/schedule.py`` lists it)."""

from __future__ import annotations

import logging

from celery import shared_task

from library.services.schedule import library_fan_out

logger = logging.getLogger("encore.library")


@shared_task(name="library.fan_out", ignore_result=True)
def library_fan_out_task() -> dict[str, dict[str, int] | int]:
    """Periodic (every minute): start the due plays and playlists syncs of every connection."""
    report = library_fan_out()
    if report.enqueued or report.failed:
        logger.info(
            "library fan-out: %s connections, started %s, skipped %s, failed %s",
            report.connections,
            dict(report.enqueued),
            dict(report.skipped),
            report.failed,
        )
    return {
        "connections": report.connections,
        "enqueued": dict(report.enqueued),
        "already_active": dict(report.already_active),
        "skipped": dict(report.skipped),
        "failed": report.failed,
    }
