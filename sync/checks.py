"""System checks: the job framework's timings must fit inside the broker's visibility timeout,
and a job's wait for Spotify budget inside its heartbeat timeout."""

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
def check_budget_wait_below_heartbeat(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A job's Spotify call waits up to ``SPOTIFY_BACKGROUND_WAIT`` for the shared budget, and
    beats no heartbeat meanwhile: that wait must stay well below ``SYNC_HEARTBEAT_TIMEOUT``, or
    the reaper declares a worker lost that is only waiting its turn."""
    wait = float(getattr(settings, "SPOTIFY_BACKGROUND_WAIT", 0) or 0)
    heartbeat = conf.heartbeat_timeout().total_seconds()
    if wait * 2 <= heartbeat:
        return []
    return [
        Error(
            f"SPOTIFY_BACKGROUND_WAIT ({wait:.0f} s) must be at most half of "
            f"SYNC_HEARTBEAT_TIMEOUT ({heartbeat:.0f} s), or a job waiting for Spotify budget "
            "is declared lost by the reaper.",
            hint="Lower SPOTIFY_BACKGROUND_WAIT or raise SYNC_HEARTBEAT_TIMEOUT.",
            id="sync.E002",
        )
    ]
