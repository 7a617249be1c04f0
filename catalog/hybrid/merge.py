"""One list from the local results and Spotify's: deduplicated by recording, one ranking.

**Same recording** (the enrichment's rules, catalog.enrichment.matching and .titles), first
that applies:
1. the same Spotify id;
2. the same ISRC with durations within 8 s (``ISRC_DURATION_MS``);
3. the same normalised base title and main artist with durations within 3 s, and the same
   version words (a live, remix, karaoke ... version is another recording; a remaster or an
   edit is not told apart).

A local song that matches a Spotify track wins: it is shown once, as the local song, and
carries the track's Spotify id and link when it has none. Spotify's tracks that are the same
recording as an earlier track of Spotify's are dropped.

**Ranking** (docs/search.md): local exact titles, then Spotify exact titles, then the other
local results in relevance order, then Spotify's others in Spotify's order. Local results are
never pushed off their page: Spotify-only results fill the room the page has left, and at
most ``EXACT_EXTRA`` Spotify exact titles are shown even on a full page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.enrichment.matching import ISRC_DURATION_MS
from catalog.enrichment.titles import SOFT_KINDS, artist_kinds, parse_title, without_article
from catalog.models import Song
from catalog.normalize import normalize
from catalog.search import ScoredSong, SearchFilters

TITLE_DURATION_MS = 3_000  # rule 3: title and main artist agree, durations this close
EXACT_EXTRA = 2


@dataclass(frozen=True)
class Recording:
    spotify_id: str | None
    isrc: str | None
    duration_ms: int | None
    title: str
    artists: tuple[str, ...]

    @classmethod
    def of_song(cls, song: Song) -> Recording:
        artists = getattr(song, "display_artists", None)
        names = (
            tuple(a["name"] for a in artists)
            if artists is not None
            else tuple(n for n in song.artist_names.split(", ") if n)
        )
        isrc = (song.isrc or "").upper() or None
        return cls(song.spotify_id, isrc, song.duration_ms, song.title, names)

    @classmethod
    def of_track(cls, track: dict[str, Any]) -> Recording:
        isrc = ((track.get("external_ids") or {}).get("isrc") or "").upper() or None
        names = tuple(a.get("name") or "" for a in track.get("artists") or [])
        return cls(track["id"], isrc, track.get("duration_ms"), track.get("name") or "", names)


def same_recording(a: Recording, b: Recording) -> bool:
    """The rules of the module docstring."""
    if a.spotify_id and a.spotify_id == b.spotify_id:
        return True
    if a.duration_ms is None or b.duration_ms is None:
        return False
    apart = abs(a.duration_ms - b.duration_ms)
    if a.isrc and a.isrc == b.isrc and apart <= ISRC_DURATION_MS:
        return True
    if apart > TITLE_DURATION_MS or not a.artists or not b.artists:
        return False
    title_a, title_b = parse_title(a.title), parse_title(b.title)
    if not title_a.base or title_a.base != title_b.base:
        return False
    if without_article(normalize(a.artists[0])) != without_article(normalize(b.artists[0])):
        return False
    kinds_a = title_a.kinds | artist_kinds(a.artists)
    kinds_b = title_b.kinds | artist_kinds(b.artists)
    return not ((kinds_a ^ kinds_b) - SOFT_KINDS)


def track_is_exact(track: dict[str, Any], titles: set[str]) -> bool:
    """The track's title is the query (a remaster counts, another version does not)."""
    name = track.get("name") or ""
    if normalize(name) in titles:
        return True
    parsed = parse_title(name)
    return parsed.base in titles and not parsed.kinds


def track_passes(track: dict[str, Any], filters: SearchFilters) -> bool:
    """The search's filters, applied to a Spotify track as the local search applies them."""
    if filters.has_spotify_id is False:
        return False
    album = track.get("album") or {}
    artists = " ".join(normalize(a.get("name") or "") for a in track.get("artists") or [])
    if filters.artist and normalize(filters.artist) not in artists:
        return False
    if filters.album and normalize(filters.album) not in normalize(album.get("name") or ""):
        return False
    release = str(album.get("release_date") or "")
    year = int(release[:4]) if release[:4].isdigit() else None
    if filters.year_min is not None and (year is None or year < filters.year_min):
        return False
    if filters.year_max is not None and (year is None or year > filters.year_max):
        return False
    return filters.explicit is None or bool(track.get("explicit")) == filters.explicit


@dataclass
class HybridHit:
    score: float | None  # local relevance; None for a Spotify result (ranked by Spotify)
    source: str  # "local" | "spotify"
    in_catalog: bool
    # The catalog's song (local, or a Spotify result already in the catalog); None for a local
    # hit given as ``data``.
    song: Song | None
    track: dict[str, Any] | None = None  # Spotify's TrackObject, when there is one
    # A local hit's song as the API shows it, when the search cache gave it and no Spotify
    # result was merged into it (the response serializes ``song`` otherwise).
    data: dict[str, Any] | None = None
    title_norm: str = ""  # a local hit's normalised title


def merge(
    local: list[ScoredSong],
    tracks: list[dict[str, Any]],
    *,
    titles: set[str],
    limit: int,
    in_catalog: dict[str, Song] | None = None,
) -> list[HybridHit]:
    """The ranked page (see the module docstring). ``in_catalog``: catalog songs by Spotify
    id, for Spotify results the local page does not show."""
    if tracks:  # the songs themselves: a Spotify link may be added to one below
        local_hits = [HybridHit(s.score, "local", True, s.song, title_norm=s.title_norm)
                      for s in local]  # fmt: skip
    else:  # as the search gave them (from the search cache: no model loaded)
        local_hits = [
            HybridHit(s.score, "local", True, None if s.data else s.song, data=s.data,
                      title_norm=s.title_norm)
            for s in local
        ]  # fmt: skip
    local_recordings = [Recording.of_song(s.song) for s in local] if tracks else []
    kept: list[tuple[Recording, HybridHit]] = []
    for track in tracks:
        recording = Recording.of_track(track)
        twin = next(
            (i for i, r in enumerate(local_recordings) if same_recording(r, recording)), None
        )
        if twin is not None:
            hit = local_hits[twin]
            if hit.track is None:
                hit.track = track
                song = hit.song
                if song is not None and not song.spotify_id:  # shown, never saved
                    song.spotify_id, song.spotify_uri = track["id"], track.get("uri")
            continue
        if any(same_recording(r, recording) for r, _ in kept):
            continue
        known = (in_catalog or {}).get(track["id"])
        kept.append((recording, HybridHit(None, "spotify", known is not None, known, track)))
    spotify_hits = [hit for _, hit in kept]

    def local_exact(hit: HybridHit) -> bool:
        return hit.source == "local" and hit.title_norm in titles

    exact = [h.track is not None and track_is_exact(h.track, titles) for h in spotify_hits]
    spotify_exact = [h for h, is_exact in zip(spotify_hits, exact, strict=True) if is_exact]
    spotify_rest = [h for h, is_exact in zip(spotify_hits, exact, strict=True) if not is_exact]
    room = max(0, limit - len(local_hits))
    spotify_exact = spotify_exact[: max(room, EXACT_EXTRA)]
    spotify_rest = spotify_rest[: max(0, room - len(spotify_exact))]
    return [
        *(h for h in local_hits if local_exact(h)),
        *spotify_exact,
        *(h for h in local_hits if not local_exact(h)),
        *spotify_rest,
    ]
