"""Celery tasks of the library: the beat fan-out (``sync/schedule.py`` lists it)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from library.services.schedule import library_fan_out
from spotify_integration.exceptions import SpotifyUnavailable
from spotify_integration.ratelimit import cache_lock

logger = logging.getLogger("encore.library")

# A fan-out still running when the next minute's starts: the second one steps aside. The lock
# expires after this long should its holder die.
FAN_OUT_LOCK_SECONDS = 600


@shared_task(name="library.fan_out", ignore_result=True)
def library_fan_out_task() -> dict[str, Any]:
    """Periodic (every minute): start the due plays and playlists syncs of every connection.

    At most one runs at a time (a lock in Redis): a slow fan-out (the first after a deploy
    finds every connection due) is not joined by the next minute's. Two at once would still
    be harmless (the job framework's target key), only wasteful.
    """
    try:
        with cache_lock("library-fan-out", timeout=FAN_OUT_LOCK_SECONDS, wait=0):
            report = library_fan_out()
    except SpotifyUnavailable:
        logger.info("library fan-out: another one is still running; this one steps aside")
        return {"skipped": "another fan-out is running"}
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
