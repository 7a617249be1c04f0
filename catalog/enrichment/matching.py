"""Which Spotify track is a local song: the queries, the scoring, the decision. Pure: no ORM
(``LocalSong.from_song`` only reads a loaded row), no HTTP (``search`` is handed in).

Scoring follows the taggers that do this well (MusicBrainz Picard's track comparison, beets'
distance): each part of the evidence gets a similarity in 0..1 and a weight, the score is the
weighted mean of the parts both sides know, and a few rules cap it:

- an ISRC that agrees with durations within 8 s is the strongest part, but never decides alone
  (ISRCs collide); one that agrees with durations further apart counts for nothing; an ISRC that
  disagrees caps the score below acceptance (a person looks);
- version words (live, remix, karaoke, tribute, ...) must agree, or the candidate is ruled out;
  a remaster of another year, or an edit, only lowers the score;
- a title or main artist that plainly differs rules the candidate out (same title by another
  artist is another recording).

The decision compares the best score with the thresholds and with the best *other recording*
(candidates that share the best's ISRC and length are one recording released twice, and must
not make each other ambiguous).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from catalog.enrichment.titles import (
    SOFT_KINDS,
    Title,
    artist_kinds,
    base_title_raw,
    main_credit_raw,
    parse_title,
    query_text,
    split_artists,
    without_article,
)
from catalog.normalize import normalize

if TYPE_CHECKING:
    from catalog.models import Song

MATCHED, NEEDS_REVIEW, NO_MATCH = "matched", "needs_review", "no_match"
SEARCH_LIMIT = 10  # Spotify's cap for development-mode apps
TOP = 5  # candidates kept in the outcome and the evidence

WEIGHTS = {
    "isrc": 10.0,
    "title": 13.0,
    "duration": 8.0,
    "artist": 8.0,
    "other_artists": 2.0,
    "album": 3.0,
    "year": 1.0,
    "version": 4.0,
}
ISRC_DURATION_MS = 8_000  # an agreeing ISRC counts only with durations this close
DURATION_FULL_MS = 2_000
DURATION_NONE_MS = 30_000
SAME_LENGTH_MS = 1_000  # reissues of one recording under two ISRCs: lengths this close
ISRC_DISAGREES_CAP = 0.70  # below acceptance: a person decides
RULED_OUT_CAP = 0.40  # below the floor: another recording
TITLE_MIN = 0.60
ARTIST_MIN = 0.60


@dataclass(frozen=True)
class Thresholds:
    accept: float  # the best must score at least this to be matched ...
    margin: float  # ... and lead the best other recording by this much
    floor: float  # below this nothing is worth a person's look: no_match

    def as_dict(self) -> dict[str, float]:
        return {"accept": self.accept, "margin": self.margin, "floor": self.floor}


DEFAULT_THRESHOLDS = Thresholds(accept=0.85, margin=0.08, floor=0.55)


@dataclass(frozen=True)
class LocalSong:
    title: str
    artists: tuple[str, ...]
    album: str | None
    duration_ms: int | None
    isrc: str | None
    year: int | None

    @classmethod
    def from_song(cls, song: Song) -> LocalSong:
        """From a row; prefetch ``song_artists__artist`` and ``album`` to read many cheaply."""
        links = sorted(song.song_artists.all(), key=lambda link: link.position)
        artists = tuple(link.artist.name for link in links) or tuple(
            n for n in song.artist_names.split(", ") if n
        )
        album = song.album if song.album_id else None
        year = song.release_year or (album.release_year if album is not None else None)
        return cls(
            title=song.title, artists=artists, album=album.title if album else None,
            duration_ms=song.duration_ms, isrc=(song.isrc or "").upper() or None, year=year,
        )  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    spotify_id: str
    uri: str
    title: str
    artists: tuple[str, ...]
    artist_ids: tuple[str, ...]
    album: str | None
    album_id: str | None
    album_image_url: str | None
    duration_ms: int | None
    isrc: str | None
    year: int | None
    preview_url: str | None

    @classmethod
    def from_track(cls, track: dict[str, Any]) -> Candidate:
        album = track.get("album") or {}
        images = album.get("images") or []
        release = str(album.get("release_date") or "")
        artists = track.get("artists") or []
        return cls(
            spotify_id=track["id"],
            uri=track.get("uri") or f"spotify:track:{track['id']}",
            title=track.get("name") or "",
            artists=tuple(a.get("name") or "" for a in artists),
            artist_ids=tuple(a.get("id") or "" for a in artists),
            album=album.get("name"),
            album_id=album.get("id"),
            album_image_url=images[0]["url"] if images else None,
            duration_ms=track.get("duration_ms"),
            isrc=((track.get("external_ids") or {}).get("isrc") or "").upper() or None,
            year=int(release[:4]) if release[:4].isdigit() else None,
            preview_url=track.get("preview_url"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "spotify_id": self.spotify_id, "uri": self.uri, "title": self.title,
            "artists": list(self.artists), "artist_ids": list(self.artist_ids),
            "album": self.album, "album_id": self.album_id,
            "album_image_url": self.album_image_url, "duration_ms": self.duration_ms,
            "isrc": self.isrc, "year": self.year, "preview_url": self.preview_url,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        """Back from :meth:`as_dict` (the evidence a review decides on)."""
        return cls(
            **{
                **data,
                "artists": tuple(data.get("artists") or ()),
                "artist_ids": tuple(data.get("artist_ids") or ()),
            }
        )


@dataclass
class ScoredCandidate:
    candidate: Candidate
    score: float
    parts: dict[str, float]
    notes: list[str] = field(default_factory=list)  # why a cap applied, for the evidence


@dataclass
class MatchOutcome:
    status: str
    confidence: float | None
    best: ScoredCandidate | None
    ranked: list[ScoredCandidate]
    queries: list[str]
    song: LocalSong | None = None
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def evidence(self) -> dict[str, Any]:
        """What an operator needs to see why: queries, thresholds, the local song, and the
        ranked candidates with their score per part, duration difference and ISRC agreement."""
        local = self.song
        ranked = []
        for scored in self.ranked:
            cand = scored.candidate
            ranked.append(
                {
                    **cand.as_dict(),
                    "score": round(scored.score, 4),
                    "parts": {k: round(v, 4) for k, v in scored.parts.items()},
                    "notes": list(scored.notes),
                    "duration_diff_ms": _duration_diff(local, cand),
                    "isrc_agrees": (
                        None if not (local and local.isrc and cand.isrc)
                        else local.isrc == cand.isrc
                    ),
                }
            )  # fmt: skip
        return {
            "status": self.status,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "queries": list(self.queries),
            "thresholds": self.thresholds.as_dict(),
            "local": None if local is None else {
                "title": local.title, "artists": list(local.artists), "album": local.album,
                "duration_ms": local.duration_ms, "isrc": local.isrc, "year": local.year,
            },
            "candidates": ranked,
            "at": self.at.isoformat(),
        }  # fmt: skip


def _duration_diff(song: LocalSong | None, cand: Candidate) -> int | None:
    if song is None or song.duration_ms is None or cand.duration_ms is None:
        return None
    return cand.duration_ms - song.duration_ms


# -- scoring --


def _similar(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b)) / 100


def _artist_similarity(local: str, spotify: str) -> float:
    a, b = normalize(local), normalize(spotify)
    best = max(_similar(a, b), _similar(without_article(a), without_article(b)))
    parts = split_artists(local)  # a credit imported as one name: "Beyoncé feat. Jay-Z"
    if parts and parts[0] != a:
        best = max(best, _similar(parts[0], b))
    return best


def _other_artists(local: tuple[str, ...], cand: tuple[str, ...]) -> float | None:
    """Agreement of the credits beyond the main artist (None when neither side has any)."""
    if not local and not cand:
        return None
    if not local or not cand:
        return 0.5  # one side does not say: weak evidence either way
    hits = sum(1 for name in local if max(_similar(name, c) for c in cand) >= 0.85)
    return hits / max(len(local), len(cand))


def _duration(song: LocalSong, cand: Candidate) -> float | None:
    diff = _duration_diff(song, cand)
    if diff is None:
        return None
    diff = abs(diff)
    if diff <= DURATION_FULL_MS:
        return 1.0
    return max(0.0, 1 - (diff - DURATION_FULL_MS) / (DURATION_NONE_MS - DURATION_FULL_MS))


def _version(local: Title, cand: Title, cand_artist_kinds: frozenset[str]) -> float | None:
    """1 when the versions agree, less for a soft difference, None when they plainly differ."""
    local_kinds, cand_kinds = local.kinds, cand.kinds | cand_artist_kinds
    hard = (local_kinds ^ cand_kinds) - SOFT_KINDS
    if hard:
        return None
    value = 1.0
    if (local_kinds ^ cand_kinds) & SOFT_KINDS:
        value -= 0.5
    if local.remaster != cand.remaster:
        # A remaster and the original are one performance; a remaster of another year is
        # another master: agree on the year when both say one.
        both_years = bool(local.remaster) and bool(cand.remaster)
        value -= 1.0 if both_years else 0.4
    return max(value, 0.0)


def score(song: LocalSong, cand: Candidate) -> ScoredCandidate:
    """The candidate's score in 0..1 with its parts (see the module docstring)."""
    local_title, cand_title = parse_title(song.title), parse_title(cand.title)
    local_main = song.artists[0] if song.artists else ""
    local_others = tuple(
        n for n in (*(normalize(a) for a in song.artists[1:]), *local_title.featured) if n
    )
    cand_others = tuple(
        n for n in (*(normalize(a) for a in cand.artists[1:]), *cand_title.featured) if n
    )
    parts: dict[str, float] = {}
    notes: list[str] = []
    parts["title"] = _similar(local_title.base, cand_title.base)
    parts["artist"] = _artist_similarity(local_main, cand.artists[0]) if cand.artists else 0.0
    others = _other_artists(tuple(dict.fromkeys(local_others)), tuple(dict.fromkeys(cand_others)))
    if others is not None:
        parts["other_artists"] = others
    duration = _duration(song, cand)
    if duration is not None:
        parts["duration"] = duration
    if song.album:
        parts["album"] = _similar(parse_title(song.album).base, parse_title(cand.album or "").base)
    if song.year and cand.year:
        parts["year"] = {0: 1.0, 1: 0.7}.get(abs(song.year - cand.year), 0.0)
    isrc_disagrees = False
    if song.isrc and cand.isrc:
        diff = _duration_diff(song, cand)
        if song.isrc != cand.isrc:
            parts["isrc"] = 0.0
            isrc_disagrees = True
        elif diff is not None and abs(diff) > ISRC_DURATION_MS:
            parts["isrc"] = 0.0
            notes.append("ISRC agrees but the durations do not: a colliding ISRC")
        else:
            parts["isrc"] = 1.0
    version = _version(local_title, cand_title, artist_kinds(cand.artists))
    parts["version"] = 0.0 if version is None else version

    total = sum(WEIGHTS[k] * v for k, v in parts.items()) / sum(WEIGHTS[k] for k in parts)
    if version is None:
        total = min(total, RULED_OUT_CAP)
        kinds = sorted(local_title.kinds ^ (cand_title.kinds | artist_kinds(cand.artists)))
        notes.append(f"another version: {', '.join(kinds)}")
    if parts["title"] < TITLE_MIN:
        total = min(total, RULED_OUT_CAP)
        notes.append("the title differs")
    if parts["artist"] < ARTIST_MIN:
        total = min(total, RULED_OUT_CAP)
        notes.append("the main artist differs")
    if isrc_disagrees:
        total = min(total, ISRC_DISAGREES_CAP)
        notes.append("the ISRC differs")
    return ScoredCandidate(candidate=cand, score=total, parts=parts, notes=notes)


def _same_recording(a: Candidate, b: Candidate) -> bool:
    """One recording released twice (album and compilation, album and single): the same
    ISRC and length, or, as labels reissue under new ISRCs, the same title, version, main
    artist and length to the second."""
    if a.spotify_id == b.spotify_id:
        return True
    if a.duration_ms is None or b.duration_ms is None:
        return bool(a.isrc and a.isrc == b.isrc)
    apart = abs(a.duration_ms - b.duration_ms)
    if a.isrc and a.isrc == b.isrc:
        return apart <= DURATION_FULL_MS
    return (
        apart <= SAME_LENGTH_MS
        and parse_title(a.title) == parse_title(b.title)
        and bool(a.artists) and bool(b.artists)
        and normalize(a.artists[0]) == normalize(b.artists[0])
    )  # fmt: skip


def decide(
    ranked: list[ScoredCandidate], thresholds: Thresholds
) -> tuple[str, float | None, ScoredCandidate | None]:
    """(status, confidence, best) for candidates ranked best first."""
    if not ranked or ranked[0].score < thresholds.floor:
        best = ranked[0] if ranked else None
        return NO_MATCH, (best.score if best else None), None
    best = ranked[0]
    rival = next(
        (s.score for s in ranked[1:] if not _same_recording(best.candidate, s.candidate)), 0.0
    )
    if best.score >= thresholds.accept and best.score - rival >= thresholds.margin:
        return MATCHED, best.score, best
    return NEEDS_REVIEW, best.score, best


# -- searching --


def _queries(song: LocalSong) -> list[str]:
    """The metadata queries in order: strict (track, artist, album), then one looser."""
    title = base_title_raw(song.title)
    main = song.artists[0] if song.artists else ""
    main_parts = split_artists(main)
    artist = main_credit_raw(main) if main else ""
    strict = f'track:"{title}"' + (f' artist:"{artist}"' if artist else "")
    queries = []
    if song.album:
        queries.append(f'{strict} album:"{query_text(base_title_raw(song.album))}"')
    queries.append(strict)
    # Looser: plain words of the title and the main artist's first name in the credit.
    loose = " ".join([normalize(title), main_parts[0] if main_parts else ""]).strip()
    queries.append(loose)
    # Strict with an album, then strict; or strict, then loose: one fallback, never two.
    return queries[:2]


def _rank(song: LocalSong, found: dict[str, Candidate]) -> list[ScoredCandidate]:
    scored = [score(song, cand) for cand in found.values()]
    # Ties: the longer-standing release (earlier year), then Spotify's order.
    order = {sid: i for i, sid in enumerate(found)}
    scored.sort(
        key=lambda s: (-round(s.score, 6), s.candidate.year or 9999, order[s.candidate.spotify_id])
    )
    return scored


def match_song(
    song: LocalSong,
    *,
    search: Callable[[str], list[dict[str, Any]]],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> MatchOutcome:
    """Search Spotify for ``song`` with as few queries as it takes, and decide.

    ``search(q)`` returns the tracks of one page (at most 10). The ISRC query comes first when
    the song has one and ends the search when it decides; then the metadata query and, unless
    that decided, one looser fallback.
    """
    queries: list[str] = []
    found: dict[str, Candidate] = {}
    plan = ([f"isrc:{song.isrc}"] if song.isrc else []) + _queries(song)
    ranked: list[ScoredCandidate] = []
    status, confidence, best = NO_MATCH, None, None
    for q in plan:
        if not q.strip() or q in queries:
            continue
        queries.append(q)
        for track in search(q)[:SEARCH_LIMIT]:
            if track and track.get("id") and track["id"] not in found:
                found[track["id"]] = Candidate.from_track(track)
        ranked = _rank(song, found)
        status, confidence, best = decide(ranked, thresholds)
        if status == MATCHED:
            break
    return MatchOutcome(
        status=status, confidence=confidence, best=best, ranked=ranked[:TOP], queries=queries,
        song=song, thresholds=thresholds,
    )  # fmt: skip
