"""``manage.py spotify_match``: match songs to Spotify tracks, as a job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from catalog.enrichment.selection import MatchMode
from sync.management.enrichment import EnrichmentCommand


class Command(EnrichmentCommand):
    help = (
        "Find the Spotify track of each selected song (by default: songs without a Spotify "
        "id; with --ids exactly those) and record the decision with its evidence, as a "
        "spotify_match job. Songs a person matched or rejected are never touched."
    )
    kind = "spotify_match"

    def add_kind_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mode",
            default="",
            choices=[m.value for m in MatchMode if m.value],
            help="missing (no Spotify id, the default), never_tried, needs_review, no_match, "
            "gone (Spotify dropped the track), or all (matched songs too).",
        )
        parser.add_argument(
            "--older-than",
            type=int,
            default=0,
            metavar="DAYS",
            help="Only songs whose last decision is older than this (e.g. --mode no_match).",
        )

    def kind_params(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"mode": options["mode"], "older_than_days": options["older_than"]}

    def summary(self, result: dict[str, Any]) -> str:
        return (
            f"matched {result['matched']:,}, needs review {result['needs_review']:,}, "
            f"no match {result['no_match']:,}, left to a person's decision "
            f"{result['skipped_manual']:,}"
        )
