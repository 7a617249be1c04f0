"""``manage.py spotify_unpause``: lift the Spotify pause a 429 set for every process.

For an operator who knows better than the Retry-After (the quota was raised, the 429 came from
a test). If Spotify still refuses, the next call's 429 pauses again. The work that was waiting
out the pause goes on now (``spotify_pause_lifted``: the job framework sends its paused jobs
again), not when the Retry-After would have ended.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from spotify_integration.ratelimit import spotify_pause_clear, spotify_paused_for
from spotify_integration.signals import spotify_pause_lifted


class Command(BaseCommand):
    help = "Lift the Spotify rate-limit pause (set by a 429) for every process."

    def handle(self, *args: Any, **options: Any) -> None:
        remaining = spotify_paused_for()
        spotify_pause_clear()
        if remaining:
            self.stdout.write(
                self.style.SUCCESS(f"Lifted the Spotify pause ({remaining} s were left).")
            )
        else:
            self.stdout.write("Spotify was not paused; nothing to lift.")
        # Also when the mark had already expired: jobs may still wait for their time.
        resumed = 0
        for _, answer in spotify_pause_lifted.send(sender=self.__class__):
            resumed += answer if isinstance(answer, int) else 0
        if resumed:
            self.stdout.write(f"{resumed} paused jobs go on now.")
