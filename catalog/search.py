"""Local song search: what a person typing in a search box expects.

The query is normalised like the indexed text (case, accents, punctuation), split into terms,
and each term matches as a prefix (``bohem`` finds *bohemian*). Terms of 5+ letters are also
corrected for typos against the catalog's own vocabulary (one edit from 5 letters, two from 9,
a swap of neighbours counting as one edit): ``bohemain rapsody`` finds *Bohemian Rhapsody*.

Finding and ranking are separate, after the measurements in SEARCH.md:
1. *Candidates* come from indexes and are capped (``SEARCH_CANDIDATE_CAP``): on PostgreSQL a
   full-text GIN index (prefix terms OR'd with their corrections, AND'ed across terms) plus a
   pattern index on the title for exact and prefix title matches; SQLite scans with LIKE.
   Ranking every row that matches a common word would cost 100 ms or more; a capped candidate
   set costs a few.
2. *Ranking* is one Python function for both databases: an exact title first, then a title
   that starts with the query, then per-term matches weighted title > artist > album, exact
   word > prefix > typo correction, a small penalty for extra title words (the original
   before the live version) and a small popularity bonus.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch
from rapidfuzz.distance import OSA

from catalog.models import SearchWord, Song, SongArtist
from catalog.normalize import normalize

MAX_TERMS = 8
MAX_CORRECTIONS = 3
# Must match the expression of the catalog_song_search_fts index (migration 0002).
PG_DOCUMENT = (
    "to_tsvector('simple'::regconfig, encore_unaccent("
    "title_norm || ' ' || artists_norm || ' ' || album_norm))"
)


@dataclass
class SearchFilters:
    artist: str | None = None
    album: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    explicit: bool | None = None
    has_spotify_id: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class Term:
    text: str
    corrections: list[str] = field(default_factory=list)


@dataclass
class ScoredSong:
    song: Song
    score: float


@dataclass
class SearchResult:
    results: list[ScoredSong]
    total: int
    total_is_exact: bool
    normalized: str
    terms: list[Term]
    took_ms: float


def allowed_typos(term: str) -> int:
    """Edits tolerated in a term: none under 5 letters, one from 5, two from 9."""
    if len(term) >= 9:
        return 2
    if len(term) >= 5:
        return 1
    return 0


def _pick_corrections(term: str, words: list[str]) -> list[str]:
    limit = allowed_typos(term)
    if any(word.startswith(term) for word in words):
        # The catalog knows this word (or words it starts): take the user at their word
        # rather than widen "fever" to "never".
        return []
    scored = []
    for word in words:
        distance = OSA.distance(term, word, score_cutoff=limit)
        if distance <= limit:
            scored.append((distance, abs(len(word) - len(term)), word))
    return [w for _, _, w in sorted(scored)[:MAX_CORRECTIONS]]


def _corrections(terms: list[str]) -> dict[str, list[str]]:
    wanted = [t for t in dict.fromkeys(terms) if allowed_typos(t)]
    if not wanted:
        return {}
    table = SearchWord._meta.db_table
    candidates: dict[str, list[str]] = {t: [] for t in wanted}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Trigram similarity narrows the vocabulary through its GIN index; the edit
            # distance check below decides. Short words share few trigrams with their typos
            # ("qeuen"/"queen": 0.2), so words of about the same length and first letter are
            # candidates too, through the btree on `word`.
            parts, params = [], []
            for term in wanted:
                parts.append(
                    f"(SELECT %s, word FROM {table} WHERE word %% %s "
                    f"ORDER BY word <-> %s LIMIT 30) UNION "
                    f"(SELECT %s, word FROM {table} WHERE word >= %s AND word < %s "
                    f"AND length(word) BETWEEN %s AND %s LIMIT 2000)"
                )
                first = term[0]
                params += [term, term, term, term, first, chr(ord(first) + 1),
                           len(term) - 1, len(term) + 1]  # fmt: skip
            cursor.execute(" UNION ALL ".join(parts), params)
            for term, word in cursor.fetchall():
                candidates[term].append(word)
        else:
            for term in wanted:
                n = len(term)
                cursor.execute(
                    f"SELECT word FROM {table} WHERE length(word) BETWEEN %s AND %s",
                    [n - 2, n + 2],
                )
                candidates[term] = [w for (w,) in cursor.fetchall()]
    return {t: _pick_corrections(t, words) for t, words in candidates.items()}


def _filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("artists_norm", filters.artist), ("album_norm", filters.album)):
        norm = normalize(value) if value else ""
        if norm:
            clauses.append(f"{column} LIKE %s")
            params.append(f"%{norm}%")
    if filters.year_min is not None:
        clauses.append("release_year >= %s")
        params.append(filters.year_min)
    if filters.year_max is not None:
        clauses.append("release_year <= %s")
        params.append(filters.year_max)
    if filters.explicit is not None:
        clauses.append("explicit = %s")
        params.append(filters.explicit)
    if filters.has_spotify_id is not None:
        clauses.append("spotify_id IS NOT NULL" if filters.has_spotify_id else "spotify_id IS NULL")
    return "".join(f" AND {c}" for c in clauses), params


def _tsquery(terms: list[Term], filters: SearchFilters) -> str:
    groups = []
    for term in terms:
        options = [f"'{term.text}':*"] + [f"'{c}'" for c in term.corrections]
        groups.append("(" + " | ".join(options) + ")")
    # Artist/album filter words narrow the index scan too; the LIKE filter makes them exact.
    for value in (filters.artist, filters.album):
        groups.extend(f"'{w}':*" for w in normalize(value).split() if value)
    return " & ".join(groups)


def _candidates_pg(normalized: str, terms: list[Term], filters: SearchFilters, cap: int):
    where, params = _filter_sql(filters)
    table = Song._meta.db_table
    sql = (
        f"WITH c AS ("
        f"(SELECT id FROM {table} WHERE title_norm LIKE %s{where} LIMIT %s) UNION "
        f"(SELECT id FROM {table} WHERE {PG_DOCUMENT} @@ to_tsquery('simple', %s){where} "
        f"LIMIT %s)) "
        f"SELECT s.id, s.title_norm, s.artists_norm, s.album_norm, s.popularity "
        f"FROM {table} s JOIN c ON c.id = s.id"
    )
    args = [f"{normalized}%", *params, cap, _tsquery(terms, filters), *params, cap]
    return sql, args


def _candidates_sqlite(normalized: str, terms: list[Term], filters: SearchFilters, cap: int):
    where, params = _filter_sql(filters)
    table = Song._meta.db_table
    document = "(' ' || title_norm || ' ' || artists_norm || ' ' || album_norm || ' ')"
    groups, args = [], []
    for term in terms:
        options = [f"{document} LIKE %s"] + [f"{document} LIKE %s"] * len(term.corrections)
        groups.append("(" + " OR ".join(options) + ")")
        args.append(f"% {term.text}%")
        args.extend(f"% {c} %" for c in term.corrections)
    sql = (
        f"SELECT id, title_norm, artists_norm, album_norm, popularity FROM {table} "
        f"WHERE (title_norm LIKE %s OR ({' AND '.join(groups)})){where} LIMIT %s"
    )
    return sql, [f"{normalized}%", *args, *params, cap + 1]


def _score(row: tuple, normalized: str, terms: list[Term]) -> float:
    _, title, artists, album, popularity = row
    score = 0.0
    if title == normalized:
        score += 100
    elif title.startswith(normalized):
        score += 40
    title_words = title.split()
    fields = ((title_words, 10.0), (artists.split(), 6.0), (album.split(), 3.0))
    title_hits = 0
    for term in terms:
        best, in_title = 0.0, False
        for words, weight in fields:
            for word in words:
                if word == term.text:
                    value = weight
                elif word.startswith(term.text):
                    value = weight * 0.7
                elif word in term.corrections:
                    value = weight * 0.5
                else:
                    continue
                if value > best:
                    best, in_title = value, words is title_words
        score += best
        title_hits += in_title
    # The original before "- Live at ..." and "- Remastered ...": extra title words cost a bit.
    score -= 0.5 * max(0, len(title_words) - title_hits)
    return score + (popularity or 0) * 0.02


def song_search(
    *, query: str, filters: SearchFilters | None = None, limit: int = 20, offset: int = 0
) -> SearchResult:
    """Rank songs for a search-box query. See the module docstring for how."""
    started = time.perf_counter()
    filters = filters or SearchFilters()
    cap = settings.SEARCH_CANDIDATE_CAP
    normalized = normalize(query)
    words = normalized.split()[:MAX_TERMS]
    normalized = " ".join(words)
    if not words:
        return SearchResult([], 0, True, normalized, [], 0.0)
    fixes = _corrections(words)
    terms = [Term(w, fixes.get(w, [])) for w in words]

    if connection.vendor == "postgresql":
        sql, args = _candidates_pg(normalized, terms, filters, cap)
    else:
        sql, args = _candidates_sqlite(normalized, terms, filters, cap)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = cursor.fetchall()
    # On PostgreSQL each branch is capped; on SQLite the one query fetches cap + 1.
    total_is_exact = len(rows) < cap
    rows = rows[: 2 * cap]

    ranked = sorted(
        ((_score(row, normalized, terms), row[4] or 0, row[0]) for row in rows),
        key=lambda item: (-item[0], -item[1], item[2]),
    )
    page = ranked[offset : offset + limit]
    songs = songs_by_ids([song_id for _, _, song_id in page])
    results = [ScoredSong(songs[song_id], round(score, 3)) for score, _, song_id in page]
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return SearchResult(results, len(ranked), total_is_exact, normalized, terms, took_ms)


def songs_for_display():
    """Songs with what a listing shows (album, ordered artists) loaded in two more queries."""
    return Song.objects.select_related("album").prefetch_related(
        Prefetch(
            "song_artists",
            queryset=SongArtist.objects.select_related("artist").order_by("position"),
        )
    )


def songs_by_ids(ids: list[int]) -> dict[int, Song]:
    if not ids:
        return {}
    return {song.id: song for song in songs_for_display().filter(id__in=ids)}
