"""``manage.py spotify_refresh``: refresh the Spotify metadata of stale songs, as a job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from sync.management.enrichment import EnrichmentCommand


class Command(EnrichmentCommand):
    help = (
        "Read the Spotify tracks of songs whose Spotify fields are stale (older than "
        "SPOTIFY_REFRESH_AFTER_DAYS) or of the songs given, as a spotify_refresh job: album "
        "image, preview URL, popularity; a track Spotify no longer has marks its song gone. "
        "20 calls per 1,000 songs in extended mode, 1,000 in development mode."
    )
    kind = "spotify_refresh"

    def add_kind_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="DAYS",
            help="Stale after this many days (default: SPOTIFY_REFRESH_AFTER_DAYS).",
        )
        parser.add_argument(
            "--include-gone", action="store_true", help="Ask again about songs gone from Spotify."
        )

    def kind_params(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"older_than_days": options["older_than"], "include_gone": options["include_gone"]}

    def summary(self, result: dict[str, Any]) -> str:
        return (
            f"refreshed {result['refreshed']:,} ({result['changed']:,} changed), "
            f"gone {result['gone']:,}, skipped {result['skipped']:,}"
        )
