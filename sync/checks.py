"""System checks: the job framework's timings must fit inside the broker's visibility timeout,
and the heartbeat timeout must allow several missed beats."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from sync import conf


@register()
def check_visibility_timeout(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Redis redelivers a message not acknowledged within the visibility timeout. Job tasks
    are acknowledged late (after they ran) and retries wait in the broker with a countdown, so
    both the hard time limit and the longest retry delay must stay below it, or a running or
    waiting job's message is delivered a second time."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    visibility = options.get("visibility_timeout", 3600)
    problems: list[CheckMessage] = []
    limits = {
        "CELERY_TASK_TIME_LIMIT": getattr(settings, "CELERY_TASK_TIME_LIMIT", None),
        "SYNC_RETRY_MAX_DELAY": conf.retry_max_delay(),
    }
    for name, value in limits.items():
        if value is not None and value >= visibility:
            problems.append(
                Error(
                    f"{name} ({value:.0f} s) must be below the broker visibility timeout "
                    f"({visibility} s), or the job message is redelivered while in use.",
                    hint="Raise CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'].",
                    id="sync.E001",
                )
            )
    return problems


@register()
def check_heartbeat_interval(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A running job's heartbeat is beaten by a thread every ``SYNC_HEARTBEAT_INTERVAL`` s, also
    while the job waits for Spotify budget or a pause (``sync.services.heartbeat``). The
    timeout must allow three missed beats, or a slow database moment makes a job "lost"."""
    interval = conf.heartbeat_interval()
    timeout = conf.heartbeat_timeout().total_seconds()
    if interval > 0 and interval * 3 <= timeout:
        return []
    return [
        Error(
            f"SYNC_HEARTBEAT_TIMEOUT ({timeout:.0f} s) must be at least three times "
            f"SYNC_HEARTBEAT_INTERVAL ({interval:.0f} s), which must be above 0.",
            hint="Lower SYNC_HEARTBEAT_INTERVAL or raise SYNC_HEARTBEAT_TIMEOUT.",
            id="sync.E002",
        )
    ]
