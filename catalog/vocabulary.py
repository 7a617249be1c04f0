"""A query's terms against the catalog's vocabulary: how each term matches, and its corrections.

The vocabulary is ``SearchWord``: every normalised word of the catalog's titles, artists and
albums, with how many songs have it. Every term matches as a prefix (``mic jac thril``); a
term with few completions in the catalog is searched as those words (the full-text index
intersects whole words far faster than it expands a prefix). A term of 5+ letters is also
widened to the words within its allowed edits (one from 5 letters, two from 8, a swap of
neighbours counting as one), whether or not the catalog knows it as a word: a typo can land
on a real word (``bruni mars``). Corrections are ranked by edit distance, then by how many
songs have the word. A term that matches nothing at all is *relaxed*: not required, so one
stray word does not empty the result. ``catalog.search`` turns the terms into candidates
and a ranking.

Finding correction candidates without missing any (PostgreSQL): one edit leaves the first
half or the second half of a term intact (a swap of the two middle letters is a single word,
looked up whole), two edits one of its thirds. So the candidates are the words of about the
term's length (one index descent per length, migration 0009) that start like it, end like it
(an index on ``reverse(word)``) or contain its middle third (the trigram index); the edit
distance (``levenshtein_less_equal``, then an exact check here) decides. (Trigram
similarity alone misses short words: ``qeuen`` and *queen* share one trigram in five.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from rapidfuzz.distance import OSA

from catalog.models import SearchWord, Song
from catalog.version import catalog_changed

MAX_CORRECTIONS = 6
MAX_COMPLETIONS = 50
# Candidates per term that pass the database's edit-distance filter, nearest and most
# common first; the exact check here keeps MAX_CORRECTIONS of them.
_CANDIDATES = 40
_TOP = "\U0010ffff"


@dataclass
class Term:
    text: str
    corrections: list[str] = field(default_factory=list)
    # Kept for the serializer and callers: every term now matches as a prefix.
    prefix: bool = True
    # The catalog's words that start with the term, most common first, when they are few
    # (else None: the index expands the prefix).
    completions: list[str] | None = None
    # Nothing in the catalog starts with the term or is within its typos: not required.
    relaxed: bool = False
    # A word of the catalog is or starts with the term.
    known: bool = True
    # Songs with a word that starts with the term or is one of its corrections: the sum of
    # the words' counts (a lower bound when the completions are too many to list), which
    # tells a common term from a rare one.
    songs: int = 0


def allowed_typos(term: str) -> int:
    """Edits tolerated in a term: none under 5 letters, one from 5, two from 8 (a word of
    nine letters or more, typed with a letter missing)."""
    if len(term) >= 8:
        return 2
    if len(term) >= 5:
        return 1
    return 0


def _pick_corrections(term: str, words: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The words within the term's allowed edits (not the term nor its completions), nearest
    first, then the most common, with their song counts."""
    limit = allowed_typos(term)
    scored = []
    for word, songs in dict(words).items():
        if word.startswith(term):
            continue
        distance = OSA.distance(term, word, score_cutoff=limit)
        if distance <= limit:
            scored.append((distance, -songs, word))
    return [(w, -songs) for _, songs, w in sorted(scored)[:MAX_CORRECTIONS]]


def _word_column() -> str:
    """`word` compared by code point, so that a range of words is a prefix range whatever
    the database's collation (an index with the same collation serves it, migration 0003)."""
    return 'word COLLATE "C"' if connection.vendor == "postgresql" else "word"


def _completion_sql(i: int, term: str) -> tuple[str, list]:
    """The words that start with the term: the most common MAX_COMPLETIONS + 1 for a term
    of 3+ letters; for a shorter one the first in order (it is too broad to rank them all)."""
    table, column = SearchWord._meta.db_table, _word_column()
    order = "songs DESC, word" if len(term) >= 3 else column
    sql = (
        f"SELECT * FROM (SELECT %s AS i, 0 AS kind, word, songs FROM {table} "
        f"WHERE {column} >= %s AND {column} < %s AND songs > 0 "
        f"ORDER BY {order} LIMIT {MAX_COMPLETIONS + 1}) AS w{i}c"
    )
    return sql, [i, term, term + _TOP]


def _correction_sql_pg(i: int, term: str, middle: bool = False) -> tuple[str, list]:
    """The typo candidates of a term: by its start and end; with ``middle``, by its middle
    third instead (two edits, one at each end: a second look-up, only for a term that the
    first one found nothing for, since a three-letter middle is in thousands of words)."""
    table = SearchWord._meta.db_table
    n, k = len(term), allowed_typos(term)
    # One edit leaves the first half or the second intact (a swap across the middle is one
    # word, looked up whole); two edits leave the first third, the middle or the last.
    piece = n // 2 if k == 1 else (n + 2) // 3
    head, tail = term[:piece], term[piece if k == 1 else n - piece :][::-1]
    lengths = list(range(max(1, n - k), n + k + 1))
    # One index descent per length, then the range (migration 0009).
    starts, ends = 'word COLLATE "C"', 'reverse(word) COLLATE "C"'
    by_length = "length(word) = ANY(%s)"
    branches = [
        f"SELECT word, songs FROM {table} WHERE {by_length} AND {starts} >= %s AND {starts} < %s",
        f"SELECT word, songs FROM {table} WHERE {by_length} AND {ends} >= %s AND {ends} < %s",
    ]
    args: list = [lengths, head, head + _TOP, lengths, tail, tail + _TOP]
    if middle:
        branches = [f"SELECT word, songs FROM {table} WHERE word LIKE %s AND {by_length}"]
        args = [f"%{term[piece : n - piece]}%", lengths]
    elif k == 1:
        swapped = term[: piece - 1] + term[piece] + term[piece - 1] + term[piece + 1 :]
        branches.append(f"SELECT word, songs FROM {table} WHERE word = %s")
        args.append(swapped)
    bound = 2 * k  # a swap is two edits to Levenshtein
    sql = (
        f"SELECT * FROM (SELECT %s AS i, 1 AS kind, word, songs FROM (SELECT word, songs, "
        f"levenshtein_less_equal(word, %s, {bound}) AS d FROM ("
        + " UNION ALL ".join(branches)
        + f") AS b WHERE songs > 0) AS c WHERE d <= {bound} "
        f"ORDER BY d, songs DESC LIMIT {_CANDIDATES}) AS w{i}f"
    )
    return sql, [i, term, *args]


def _correction_sql_sqlite(i: int, term: str) -> tuple[str, list]:
    table, n, k = SearchWord._meta.db_table, len(term), allowed_typos(term)
    sql = (
        f"SELECT %s AS i, 1 AS kind, word, songs FROM {table} "
        f"WHERE length(word) BETWEEN %s AND %s AND songs > 0"
    )
    return sql, [i, n - k, n + k]


def understand(words: list[str]) -> list[Term]:
    """The query's terms: the words each may match, in one look-up of the vocabulary."""
    unique = list(dict.fromkeys(words))
    parts, params = [], []
    postgres = connection.vendor == "postgresql"
    for i, term in enumerate(unique):
        sql, args = _completion_sql(i, term)
        parts.append(sql)
        params += args
        if allowed_typos(term):
            sql, args = (_correction_sql_pg if postgres else _correction_sql_sqlite)(i, term)
            parts.append(sql)
            params += args
    completions: dict[str, list[str]] = {t: [] for t in unique}
    songs: Counter[str] = Counter()
    candidates: dict[str, list[tuple[str, int]]] = {t: [] for t in unique}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for i, kind, word, count in cursor.fetchall():
            term = unique[i]
            if kind == 0:
                completions[term].append(word)
                songs[term] += count
            else:
                candidates[term].append((word, count))
        again = [
            (i, t) for i, t in enumerate(unique)
            if postgres and allowed_typos(t) == 2 and len(t) - 2 * ((len(t) + 2) // 3) >= 3
            and not completions[t] and not _pick_corrections(t, candidates[t])
        ]  # fmt: skip
        if again:
            middles = [_correction_sql_pg(i, t, middle=True) for i, t in again]
            cursor.execute(
                " UNION ALL ".join(m[0] for m in middles), [a for m in middles for a in m[1]]
            )
            for i, _, word, count in cursor.fetchall():
                candidates[unique[i]].append((word, count))
    terms = []
    for word in words:
        found = completions[word]
        picked = _pick_corrections(word, candidates[word])
        fixes = [w for w, _ in picked]
        expanded = found if 0 < len(found) <= MAX_COMPLETIONS else None
        terms.append(
            Term(
                word,
                fixes,
                completions=expanded,
                relaxed=not found and not fixes,
                known=bool(found),
                songs=songs[word] + sum(n for _, n in picked),
            )
        )
    return terms


def corrected(terms: list[Term]) -> str:
    """The query with each term the catalog does not know (no word is or starts with it)
    replaced by its best correction."""
    return " ".join(t.corrections[0] if t.corrections and not t.known else t.text for t in terms)


def refresh_word_counts(using=None) -> int:
    """Recount ``SearchWord.songs`` over the catalog (adding missing words): the number of
    songs whose search columns have each word. Safe to repeat; returns the words counted."""
    conn = using or connection
    words, songs = SearchWord._meta.db_table, Song._meta.db_table
    try:
        return _count_words(conn, words, songs)
    finally:  # after the write (see catalog.version.CatalogQuerySet)
        catalog_changed(using=conn.alias)  # corrections are ranked by these counts


def _count_words(conn, words: str, songs: str) -> int:
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {words} (word, songs) SELECT word, ndoc FROM ts_stat("
                f"'SELECT to_tsvector(''simple'', title_norm || '' '' || artists_norm "
                f"|| '' '' || album_norm) FROM {songs}') WHERE length(word) <= 100 "
                f"ON CONFLICT (word) DO UPDATE SET songs = excluded.songs "
                f"WHERE {words}.songs <> excluded.songs"
            )
            return cursor.rowcount
        counts: Counter[str] = Counter()
        cursor.execute(f"SELECT title_norm, artists_norm, album_norm FROM {songs}")
        for row in cursor.fetchall():
            counts.update(w for w in set(" ".join(row).split()) if len(w) <= 100)
        cursor.executemany(
            f"INSERT INTO {words} (word, songs) VALUES (%s, %s) "
            f"ON CONFLICT (word) DO UPDATE SET songs = excluded.songs",
            list(counts.items()),
        )
        return len(counts)
