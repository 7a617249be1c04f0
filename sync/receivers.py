"""The job framework's answers to other apps' signals (connected in ``SyncConfig.ready``)."""

from __future__ import annotations

from typing import Any

from sync.services.resume import jobs_resume_paused


def on_spotify_pause_lifted(sender: Any, **kwargs: Any) -> int:
    """The Spotify pause was lifted early: the jobs waiting it out go on now."""
    return len(jobs_resume_paused())
