"""Local song search: what a person typing in a search box expects.

The query is normalised like the indexed text (case, accents, punctuation), split into terms,
and each term matches as a prefix (``bohem`` finds *bohemian*). Terms of 5+ letters are also
corrected for typos against the catalog's own vocabulary (one edit from 5 letters, two from 8,
a swap of neighbours counting as one edit): ``bohemain rapsody`` finds *Bohemian Rhapsody*.
How each term matches is worked out in ``catalog.vocabulary``; this module finds and ranks.
A term that matches nothing is not required; when no song has every term of three or more,
the songs with all but one are ranked (``SearchResult.relaxed``).

Finding and ranking are separate, after the measurements in docs/search.md:
1. *Candidates* come from indexes and are capped (``SEARCH_CANDIDATE_CAP``): on PostgreSQL a
   full-text GIN index (the INDEX_TERMS rarest terms, each its completions or prefix OR'd with
   its corrections, AND'ed; very common prefixes and the other terms filter the rows found
   with LIKE) plus a pattern index on the title for exact and prefix title matches; SQLite
   scans with LIKE.
   Ranking all that a common word matches would cost 100 ms or more, a capped set a few.
2. *Ranking* is one SQL expression for both databases (``_score_sql``), evaluated by the
   database over the candidates in the same statement, so only the page comes back: an exact
   title first, then a title that starts with the query, then per-term matches weighted
   title > artist > album, whole word > prefix > typo correction, a small penalty for extra
   title words (the original before the live version) and a small popularity bonus.
"""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from catalog.models import Album, Artist, Song, SongArtist
from catalog.normalize import normalize
from catalog.vocabulary import Term, corrected, understand

MAX_TERMS = 10
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


class ScoredSong:
    """A result and its relevance score.

    A result answered from the search cache (catalog.search_cache) comes with the song as the
    API shows it (``data``) and the model pickled: the model is loaded only when something
    asks for ``song`` (merging Spotify's results), and ``data`` is then dropped, since the
    model may be changed for the response (a Spotify link shown, never saved).
    """

    __slots__ = ("_kept", "_song", "data", "pk", "score", "title_norm")

    def __init__(
        self,
        song: Song | None,
        score: float,
        *,
        pk: int | None = None,
        title_norm: str | None = None,
        data: dict[str, Any] | None = None,
        kept: bytes | None = None,
    ) -> None:
        self.score = score
        self._song, self._kept, self.data = song, kept, data
        self.pk: int = song.pk if song is not None else int(pk or 0)
        self.title_norm: str = song.title_norm if song is not None else title_norm or ""

    @property
    def song(self) -> Song:
        if self._song is None:
            assert self._kept is not None
            # Our own Redis's bytes, as trusted as django-redis's pickled values around them.
            self._song, self._kept, self.data = pickle.loads(self._kept), None, None  # noqa: S301
        return self._song

    def kept(self) -> bytes:
        """The model, pickled, for the cache."""
        return self._kept if self._kept is not None else pickle.dumps(self._song, protocol=5)


@dataclass
class SearchResult:
    results: list[ScoredSong]
    total: int
    total_is_exact: bool
    normalized: str
    terms: list[Term]
    took_ms: float
    # No song had every term: the results have all but one (see song_search).
    relaxed: bool = False
    # Answered from the shared cache (catalog.search_cache); took_ms is then the look-up's.
    cached: bool = False


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


# A prefix that starts words of more songs than this (and more words than we list) is
# checked on the rows the other terms find rather than expanded in the full-text index:
# expanding `the:*` or `por:*` unions posting lists of hundreds of thousands of songs.
BROAD_SONGS = 5_000
# A query whose every term is that common and the rarest still starts words of more songs
# than this (`the`) looks at titles only, as a one- or two-letter query does.
TITLES_ONLY = 50_000
# The rarest terms the full-text index intersects; the others filter the rows found.
INDEX_TERMS = 3


def _is_broad(term: Term) -> bool:
    """A one- or two-letter prefix that starts more words than we expand: scanning the index
    for it would touch most of the catalog, so it filters candidates instead of finding them."""
    return term.prefix and term.completions is None and len(term.text) <= 2


def _broad_terms(terms: list[Term], relax_one: bool = False) -> list[Term]:
    """The terms that filter the candidates the others find (see BROAD_SONGS), keeping at
    least one term of three or more letters for the index; and past the INDEX_TERMS rarest
    terms, the rest (each posting list the index reads costs, and the rarest few already
    leave a handful of rows to check)."""
    required = [t for t in terms if not t.relaxed]
    broad = [t for t in required if _is_broad(t)]
    if not relax_one:
        ranked = sorted((t for t in required if t not in broad), key=lambda t: t.songs)
        broad += ranked[INDEX_TERMS:]
    common = sorted(
        (t for t in required if t.completions is None and t not in broad and t.songs > BROAD_SONGS),
        key=lambda t: t.songs,
    )
    if common and len(common) + len(broad) == len(required) and common[0].songs <= TITLES_ONLY:
        common = common[1:]  # the least common one finds the candidates
    return broad + common


def _tsquery(terms: list[Term], filters: SearchFilters, *, relax_one: bool = False) -> str:
    """Every term (a prefix, its few completions, or a correction) must match; with
    ``relax_one``, all but one of them (the fallback when no song has every term)."""
    groups = []
    broad = _broad_terms(terms, relax_one)
    for term in terms:
        if term in broad or term.relaxed:
            continue
        options = [f"'{w}'" for w in term.completions] if term.completions else []
        if term.completions is None and term.known:  # too many to list
            options.append(f"'{term.text}':*")
        options += [f"'{c}'" for c in term.corrections]
        groups.append("(" + " | ".join(options) + ")")
    if relax_one and len(groups) > 1:
        groups = [
            "(" + " | ".join("(" + " & ".join(groups[:i] + groups[i + 1 :]) + ")"
                             for i in range(len(groups))) + ")"
        ]  # fmt: skip
    # Artist/album filter words narrow the index scan too; the LIKE filter makes them exact.
    for value in (filters.artist, filters.album):
        groups.extend(f"'{w}':*" for w in normalize(value).split() if value)
    return " & ".join(groups)


# What ranking needs of a candidate, read by the index branch that finds it: joining the
# candidates back to the table would visit every one of them twice.
_CANDIDATE_COLUMNS = "id, popularity, title_norm, artists_norm, album_norm"
# Title, artists and album as one padded text: " word word ", for LIKE "% word%" on each word.
_PADDED = "(' ' || title_norm || ' ' || artists_norm || ' ' || album_norm || ' ')"


def _candidates_pg(
    normalized: str, terms: list[Term], filters: SearchFilters, cap: int, relax_one: bool = False
):
    """Candidates from the indexes: exact and prefix titles, and full-text matches.

    A broad term (see _broad_terms: a one- or two-letter prefix, or a prefix of many songs'
    words) is checked on the rows the other terms found; a query of only broad terms ("l",
    "lo", "the") looks at titles that are or start with it, the one index that can answer it
    cheaply.
    """
    where, params = _filter_sql(filters)
    table = Song._meta.db_table
    titles = list(dict.fromkeys([normalized, corrected(terms)]))
    # Exact titles apart: when more titles start with the query than the cap takes, the
    # prefix branch returns an arbitrary part of them, and the exact one must not be missed.
    exact = f"title_norm IN ({', '.join(['%s'] * len(titles))})"
    branches, args = [], []
    for condition, values in [(exact, titles)] + [
        ("title_norm LIKE %s", [f"{t}%"]) for t in titles
    ]:
        branches.append(
            f"(SELECT {_CANDIDATE_COLUMNS} FROM {table} WHERE {condition}{where} LIMIT %s)"
        )
        args += [*values, *params, cap]
    tsquery = _tsquery(terms, filters, relax_one=relax_one)
    if tsquery:
        broad_sql, broad_args = "", []
        for term in _broad_terms(terms, relax_one):
            options = [f"% {term.text}%", *(f"% {c} %" for c in term.corrections)]
            broad_sql += " AND (" + " OR ".join([f"{_PADDED} LIKE %s"] * len(options)) + ")"
            broad_args += options
        branches.append(
            f"(SELECT {_CANDIDATE_COLUMNS} FROM {table} "
            f"WHERE {PG_DOCUMENT} @@ to_tsquery('simple', %s){broad_sql}{where} LIMIT %s)"
        )
        args += [tsquery, *broad_args, *params, cap]
    return " UNION ".join(branches), args


def _candidates_sqlite(
    normalized: str, terms: list[Term], filters: SearchFilters, cap: int, relax_one: bool = False
):
    """Candidates by a scan: every term (or a correction) starts a word somewhere (with
    ``relax_one``, every term but one)."""
    where, params = _filter_sql(filters)
    table = Song._meta.db_table
    groups, args = [], []
    group_args: list[list[str]] = []
    for term in terms:
        if term.relaxed:
            continue
        options = [f"{_PADDED} LIKE %s"] * (1 + len(term.corrections))
        groups.append("(" + " OR ".join(options) + ")")
        group_args.append([f"% {term.text}%", *(f"% {c} %" for c in term.corrections)])
    if relax_one and len(groups) > 1:
        groups, group_args = (
            ["(" + " OR ".join("(" + " AND ".join(groups[:i] + groups[i + 1 :]) + ")"
                               for i in range(len(groups))) + ")"],
            [[a for i in range(len(groups)) for j, g in enumerate(group_args) if j != i
              for a in g]],
        )  # fmt: skip
    args = [a for g in group_args for a in g]
    if not groups or all(_is_broad(t) for t in terms):
        # As on PostgreSQL: a query of one- and two-letter prefixes only looks at titles.
        groups, args = ["FALSE"], []
    fixed = corrected(terms)
    # Exact titles apart, as on PostgreSQL: the scan stops at the cap wherever it is.
    sql = (
        f"SELECT * FROM (SELECT {_CANDIDATE_COLUMNS} FROM {table} "
        f"WHERE title_norm IN (%s, %s){where} LIMIT %s) UNION "
        f"SELECT * FROM (SELECT {_CANDIDATE_COLUMNS} FROM {table} "
        f"WHERE (title_norm LIKE %s OR title_norm LIKE %s "
        f"OR ({' AND '.join(groups)})){where} LIMIT %s)"
    )
    return sql, [normalized, fixed, *params, cap,
                 f"{normalized}%", f"{fixed}%", *args, *params, cap]  # fmt: skip


def _score_sql(normalized: str, terms: list[Term]) -> tuple[str, list[Any]]:
    """The relevance of a candidate, as SQL over the padded columns pt, pa, pl (title,
    artists, album as " word word ") and t (the title).

    An exact title scores 100 (90 once typos are corrected) and a title starting with the
    query 40 (35). Each term then adds
    its best match: title > artists > album (10, 6, 3), whole word > word start (x0.7) > a
    typo correction (x0.5). Each title word no term matched costs 0.5, so the original ranks
    above "- Live at ..." and "- Remastered ..."; popularity adds up to 2.
    """
    fixed = corrected(terms)
    params: list[Any] = [normalized, fixed, f"{normalized}%", f"{fixed}%"]
    parts = [
        "(CASE WHEN t = %s THEN 100 WHEN t = %s THEN 90 WHEN t LIKE %s THEN 40 "
        "WHEN t LIKE %s THEN 35 ELSE 0 END)"
    ]
    title_hits: list[str] = []
    hit_params: list[Any] = []  # the title-hit terms come after every score term
    for term in terms:
        if term.relaxed:
            continue
        whole, start = f"% {term.text} %", f"% {term.text}%"
        fixes = [f"% {c} %" for c in term.corrections]

        def any_fix(column: str, fixes: list[str] = fixes) -> tuple[str, list[str]]:
            if not fixes:
                return "FALSE", []
            return "(" + " OR ".join([f"{column} LIKE %s"] * len(fixes)) + ")", fixes

        title_fix, title_fix_params = any_fix("pt")
        artist_fix, artist_fix_params = any_fix("pa")
        album_fix, album_fix_params = any_fix("pl")
        parts.append(
            "(CASE WHEN pt LIKE %s THEN 10 WHEN pt LIKE %s THEN 7 WHEN pa LIKE %s THEN 6 "
            f"WHEN {title_fix} THEN 5 WHEN pa LIKE %s THEN 4.2 "
            f"WHEN pl LIKE %s OR {artist_fix} THEN 3 WHEN pl LIKE %s THEN 2.1 "
            f"WHEN {album_fix} THEN 1.5 ELSE 0 END)"
        )
        params += [whole, start, whole, *title_fix_params, start, whole,
                   *artist_fix_params, start, *album_fix_params]  # fmt: skip
        title_hits.append(
            f"(CASE WHEN pt LIKE %s THEN 1 WHEN pa LIKE %s THEN 0 WHEN {title_fix} THEN 1 "
            "ELSE 0 END)"
        )
        hit_params += [start, whole, *title_fix_params]
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    words_in_title = "(length(t) - length(replace(t, ' ', '')) + 1)"
    hits = " + ".join(title_hits) or "0"
    parts.append(f"- 0.5 * {greatest}(0, {words_in_title} - ({hits}))")
    parts.append("+ COALESCE(popularity, 0) * 0.02")
    return " + ".join(parts[:-2]) + " " + " ".join(parts[-2:]), params + hit_params


def _required_words(words: list[str]) -> list[str]:
    """At most MAX_TERMS of the query's words, in order: past that the shortest are left out
    (articles, not the artist's name at the end of a long query)."""
    if len(words) <= MAX_TERMS:
        return words
    keep = sorted(range(len(words)), key=lambda i: (-len(words[i]), i))[:MAX_TERMS]
    return [words[i] for i in sorted(keep)]


def _page(normalized, terms, filters, cap, limit, offset, relax_one=False):
    """One statement: candidates from the indexes, scored and ordered by the database, and
    only the page comes back, with what a result shows (album, ordered artists) and the
    candidate count. Returns (songs, total)."""
    find = _candidates_pg if connection.vendor == "postgresql" else _candidates_sqlite
    candidates, candidate_args = find(normalized, terms, filters, cap, relax_one)
    score, score_args = _score_sql(normalized, terms)
    page_sql = (
        f"WITH c AS ({candidates}), "
        f"d AS (SELECT id, popularity, title_norm AS t, ' ' || title_norm || ' ' AS pt, "
        f"' ' || artists_norm || ' ' AS pa, ' ' || album_norm || ' ' AS pl FROM c), "
        f"e AS (SELECT id, popularity, {score} AS score FROM d), "
        f"p AS (SELECT id, score, popularity, count(*) OVER () AS total FROM e "
        f"ORDER BY score DESC, COALESCE(popularity, 0) DESC, id LIMIT %s OFFSET %s) "
        f"{_page_select()} ORDER BY p.score DESC, COALESCE(p.popularity, 0) DESC, p.id"
    )
    songs = list(Song.objects.raw(page_sql, [*candidate_args, *score_args, limit, offset]))
    if songs:
        return songs, songs[0].search_total
    if not offset:
        return songs, 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({candidates}) AS c", candidate_args)
        return songs, cursor.fetchone()[0]


def song_search(
    *, query: str, filters: SearchFilters | None = None, limit: int = 20, offset: int = 0
) -> SearchResult:
    """Rank songs for a search-box query. See the module docstring for how."""
    started = time.perf_counter()
    filters = filters or SearchFilters()
    cap = settings.SEARCH_CANDIDATE_CAP
    normalized = normalize(query)
    words = _required_words(normalized.split())
    if not words:
        return SearchResult([], 0, True, normalized, [], 0.0)
    terms = understand(words)
    songs, total = _page(normalized, terms, filters, cap, limit, offset)
    required = [t for t in terms if not t.relaxed and not _is_broad(t)]
    relaxed = False
    if not total and len(required) > 2:
        # No song has every term: the songs with all but one, ranked by what they match (from
        # three terms: with two, "all but one" is any song of either word, thousands of rows
        # to union for a list that means little).
        songs, total = _page(normalized, terms, filters, cap, limit, offset, relax_one=True)
        relaxed = True
    results = [ScoredSong(_with_album_and_artists(song), round(float(song.search_score), 3))
               for song in songs]  # fmt: skip
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    # Each index branch stops at the cap; under it, every match was counted.
    return SearchResult(results, total, total < cap, normalized, terms, took_ms, relaxed)


def _page_select() -> str:
    """The columns of a page of results: the song, its album's brief and its artists as a
    JSON list of [position, id, name, spotify_id] (ordered in Python: SQLite's aggregate
    promises no order), in one row per song."""
    song, album = Song._meta.db_table, Album._meta.db_table
    song_artist, artist = SongArtist._meta.db_table, Artist._meta.db_table
    if connection.vendor == "postgresql":
        artists = (
            f"(SELECT json_agg(json_build_array(sa.position, a.id, a.name, a.spotify_id))"
            f" FROM {song_artist} sa JOIN {artist} a ON a.id = sa.artist_id"
            f" WHERE sa.song_id = s.id)"
        )
    else:
        artists = (
            f"(SELECT json_group_array(json_array(sa.position, a.id, a.name, a.spotify_id))"
            f" FROM {song_artist} sa JOIN {artist} a ON a.id = sa.artist_id"
            f" WHERE sa.song_id = s.id)"
        )
    return (
        f"SELECT s.*, p.score AS search_score, p.total AS search_total, "
        f"al.title AS search_album_title, al.spotify_id AS search_album_spotify_id, "
        f"{artists} AS search_artists FROM p JOIN {song} s ON s.id = p.id "
        f"LEFT JOIN {album} al ON al.id = s.album_id"
    )


def _with_album_and_artists(song: Song) -> Song:
    """Attach what the page query read to the song, as the serializer reads it: the album
    (its brief fields; the rest load on access) and the artists (``display_artists``)."""
    if song.album_id is not None:
        song.album = Album.from_db(
            connection.alias,
            ["id", "title", "spotify_id"],
            [song.album_id, song.search_album_title, song.search_album_spotify_id],
        )
    artists = song.search_artists
    if isinstance(artists, str):  # SQLite hands JSON back as text
        artists = json.loads(artists)
    song.display_artists = [
        {"id": artist_id, "name": name, "spotify_id": spotify_id}
        for _, artist_id, name, spotify_id in sorted(artists or [], key=lambda a: a[0])
    ]
    return song
