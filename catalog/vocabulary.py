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
or the last ``(n - 1) // 2`` letters of an ``n``-letter term intact, two edits one of its
thirds, so the candidates are the words of about the term's length that start like it (the
btree on ``word``), end like it (the btree on ``reverse(word)``, migration 0006) or contain
its middle third (the trigram index); the edit distance (``levenshtein_less_equal``, then
an exact check here) decides. (Trigram similarity alone misses short words: ``qeuen`` and
*queen* share one trigram in five.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from rapidfuzz.distance import OSA

from catalog.models import SearchWord

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
    # Songs with a word that starts with the term: the sum over the listed completions
    # (a lower bound when there are more), which tells a common prefix from a rare one.
    songs: int = 0


def allowed_typos(term: str) -> int:
    """Edits tolerated in a term: none under 5 letters, one from 5, two from 8 (a word of
    nine letters or more, typed with a letter missing)."""
    if len(term) >= 8:
        return 2
    if len(term) >= 5:
        return 1
    return 0


def _pick_corrections(term: str, words: list[tuple[str, int]]) -> list[str]:
    """The words within the term's allowed edits (not the term nor its completions), nearest
    first, then the most common."""
    limit = allowed_typos(term)
    scored = []
    for word, songs in dict(words).items():
        if word.startswith(term):
            continue
        distance = OSA.distance(term, word, score_cutoff=limit)
        if distance <= limit:
            scored.append((distance, -songs, word))
    return [w for _, _, w in sorted(scored)[:MAX_CORRECTIONS]]


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


def _correction_sql_pg(i: int, term: str) -> tuple[str, list]:
    table, column = SearchWord._meta.db_table, _word_column()
    n, k = len(term), allowed_typos(term)
    piece = (n - 1) // 2 if k == 1 else n // 3
    head, tail = term[:piece], term[n - piece :][::-1]
    near = "length(word) BETWEEN %s AND %s"
    branches = [
        f"SELECT word, songs FROM {table} WHERE {column} >= %s AND {column} < %s AND {near}",
        f'SELECT word, songs FROM {table} WHERE reverse(word) COLLATE "C" >= %s '
        f'AND reverse(word) COLLATE "C" < %s AND {near}',
    ]
    args: list = [head, head + _TOP, n - k, n + k, tail, tail + _TOP, n - k, n + k]
    middle = term[piece : n - piece]
    if k == 2 and len(middle) >= 3:
        branches.append(f"SELECT word, songs FROM {table} WHERE word LIKE %s AND {near}")
        args += [f"%{middle}%", n - k, n + k]
    sql = (
        "SELECT * FROM (SELECT %s AS i, 1 AS kind, word, songs FROM ("
        + " UNION ".join(branches)
        + f") AS b WHERE songs > 0 AND levenshtein_less_equal(word, %s, {2 * k}) <= {2 * k} "
        f"ORDER BY levenshtein_less_equal(word, %s, {2 * k}), songs DESC "
        f"LIMIT {_CANDIDATES}) AS w{i}f"
    )
    return sql, [i, *args, term, term]


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
    terms = []
    for word in words:
        found = completions[word]
        fixes = _pick_corrections(word, candidates[word])
        expanded = found if 0 < len(found) <= MAX_COMPLETIONS else None
        terms.append(
            Term(
                word,
                fixes,
                completions=expanded,
                relaxed=not found and not fixes,
                known=bool(found),
                songs=songs[word],
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
    words, songs = SearchWord._meta.db_table, "catalog_song"
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
