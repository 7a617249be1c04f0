"""Users' token refreshes: the invalid_grant figures of the storm window, and the refresh pause
(docs/connections.md "invalid_grant, and storms of it"). ``--resume`` lifts the pause."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from spotify_integration.refresh_guard import (
    refresh_figures,
    refresh_pause_clear,
    refreshes_paused_for,
)


class Command(BaseCommand):
    help = "Show token refreshes and invalid_grants in the storm window and the refresh pause."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Lift the refresh pause (the Spotify incident is over).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resume"]:
            refresh_pause_clear()
            self.stdout.write("Token refreshes resumed.")
        figures = refresh_figures()
        self.stdout.write(
            f"Last {settings.SPOTIFY_INVALID_GRANT_STORM_WINDOW} s: {figures.refreshed} "
            f"refreshes, {figures.invalid} invalid_grant (a storm: at least "
            f"{settings.SPOTIFY_INVALID_GRANT_STORM_MIN} and "
            f"{settings.SPOTIFY_INVALID_GRANT_STORM_RATIO:.0%} of the refreshes)"
        )
        paused = refreshes_paused_for()
        self.stdout.write(
            f"Token refreshes: paused, {paused} s left" if paused else "Token refreshes: running"
        )
