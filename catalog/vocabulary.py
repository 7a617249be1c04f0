"""A query's terms against the catalog's vocabulary: how each term matches, and its corrections.

The vocabulary is ``SearchWord``: every normalised word of the catalog's titles, artists and
albums. A term the catalog knows matches whole or as a prefix; one it does not know is widened
to the words within its allowed edits (one from 5 letters, two from 9, a swap of neighbours
counting as one). ``catalog.search`` turns the terms into candidates and a ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from rapidfuzz.distance import OSA

from catalog.models import SearchWord

MAX_CORRECTIONS = 3
MAX_COMPLETIONS = 50


@dataclass
class Term:
    text: str
    corrections: list[str] = field(default_factory=list)
    # Match words that start with the term (the word being typed, or a fragment the catalog
    # does not know as a word); a complete known word before the last matches whole.
    prefix: bool = True
    # The catalog's words that start with the term, when they are few (else None).
    completions: list[str] | None = None


def allowed_typos(term: str) -> int:
    """Edits tolerated in a term: none under 5 letters, one from 5, two from 9."""
    if len(term) >= 9:
        return 2
    if len(term) >= 5:
        return 1
    return 0


def _pick_corrections(term: str, words: list[str]) -> list[str]:
    limit = allowed_typos(term)
    scored = []
    for word in words:
        distance = OSA.distance(term, word, score_cutoff=limit)
        if distance <= limit:
            scored.append((distance, abs(len(word) - len(term)), word))
    return [w for _, _, w in sorted(scored)[:MAX_CORRECTIONS]]


def _word_column() -> str:
    """`word` compared by code point, so that a range of words is a prefix range whatever
    the database's collation (an index with the same collation serves it, migration 0003)."""
    return 'word COLLATE "C"' if connection.vendor == "postgresql" else "word"


def _completions(terms: list[str]) -> dict[str, list[str]]:
    """For each term, the catalog's words that start with it (the term itself included when
    it is a word), up to MAX_COMPLETIONS + 1; a range scan of the btree on SearchWord.word."""
    table = SearchWord._meta.db_table
    word_column = _word_column()
    parts, params = [], []
    for term in terms:
        parts.append(
            f"SELECT * FROM (SELECT %s, word FROM {table} "
            f"WHERE {word_column} >= %s AND {word_column} < %s "
            f"ORDER BY {word_column} LIMIT {MAX_COMPLETIONS + 1}) AS w"
        )
        # Words are normalised text; the highest code point bounds every word with the prefix.
        params += [term, term, term + "\U0010ffff"]
    found: dict[str, list[str]] = {term: [] for term in terms}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for term, word in cursor.fetchall():
            found[term].append(word)
    return found


def _corrections(terms: list[str]) -> dict[str, list[str]]:
    """Words of the catalog within the allowed edits of each term the catalog does not know."""
    if not terms:
        return {}
    table = SearchWord._meta.db_table
    candidates: dict[str, list[str]] = {t: [] for t in terms}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Trigram similarity narrows the vocabulary through its GIN index; the edit
            # distance check decides. Short words share few trigrams with their typos
            # ("qeuen"/"queen": 0.2), so words of about the same length and first letter are
            # candidates too, through the btree on `word`.
            parts: list[str] = []
            params: list[str | int] = []
            word_column = _word_column()
            for term in terms:
                parts.append(
                    f"(SELECT %s, word FROM {table} WHERE word %% %s "
                    f"ORDER BY word <-> %s LIMIT 30) UNION "
                    f"(SELECT %s, word FROM {table} "
                    f"WHERE {word_column} >= %s AND {word_column} < %s "
                    f"AND length(word) BETWEEN %s AND %s LIMIT 1000)"
                )
                first = term[0]
                params += [term, term, term, term, first, chr(ord(first) + 1),
                           len(term) - 1, len(term) + 1]  # fmt: skip
            cursor.execute(" UNION ALL ".join(parts), params)
            for term, word in cursor.fetchall():
                candidates[term].append(word)
        else:
            for term in terms:
                n = len(term)
                cursor.execute(
                    f"SELECT word FROM {table} WHERE length(word) BETWEEN %s AND %s",
                    [n - 2, n + 2],
                )
                candidates[term] = [w for (w,) in cursor.fetchall()]
    return {t: _pick_corrections(t, words) for t, words in candidates.items()}


def understand(words: list[str]) -> list[Term]:
    """The query's terms: how each matches (whole word or prefix) and its typo corrections.

    A term the catalog does not know (no word is or starts with it) is widened to the words
    within its allowed edits. Of the terms it knows, a complete word that is not the last
    matches whole: "midnight fever" looks for *midnight* and words starting with *fever*,
    which keeps the index work small; the last term is still being typed. A prefix with few
    completions in the catalog is searched as those words: the full-text index intersects
    whole words far faster than it expands prefixes.
    """
    unique = list(dict.fromkeys(words))
    completions = _completions(unique)
    unknown = [w for w in unique if not completions[w] and allowed_typos(w)]
    fixes = _corrections(unknown)
    last = len(words) - 1
    terms = []
    for i, word in enumerate(words):
        found = completions[word]
        prefix = not (word in found and i < last)
        expanded = found if prefix and 0 < len(found) <= MAX_COMPLETIONS else None
        terms.append(Term(word, fixes.get(word, []), prefix=prefix, completions=expanded))
    return terms


def corrected(terms: list[Term]) -> str:
    """The query with each unknown term replaced by its best correction."""
    return " ".join(t.corrections[0] if t.corrections else t.text for t in terms)
