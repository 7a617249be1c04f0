"""``manage.py spotify_audio_features``: fetch audio features of songs never asked, as a job."""

from __future__ import annotations

from typing import Any

from sync.management.enrichment import EnrichmentCommand


class Command(EnrichmentCommand):
    help = (
        "Fetch the audio features of songs with a Spotify id that were never asked (or of the "
        "songs given), 100 a call, as a spotify_audio_features job. Extended-quota apps only: "
        "in development mode it stops at once, with 0 calls."
    )
    kind = "spotify_audio_features"

    def summary(self, result: dict[str, Any]) -> str:
        text = (
            f"stored {result['stored']:,}, none on Spotify {result['none']:,}, "
            f"skipped {result['skipped']:,}"
        )
        return f"{text}; stopped: {result['unavailable']}" if result["unavailable"] else text
