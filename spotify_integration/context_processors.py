"""Template context for the admin: a Spotify pause (a 429 told every process to wait) and
when it ends, so operators see why Spotify work stands still. One Redis read, admin pages only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from spotify_integration.ratelimit import spotify_paused_for


def spotify_pause(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not request.path.startswith("/admin/") or not (user is not None and user.is_staff):
        return {}
    remaining = spotify_paused_for()
    if not remaining:
        return {}
    return {
        "spotify_pause": {
            "seconds": remaining,
            "until": timezone.now() + timedelta(seconds=remaining),
        }
    }
