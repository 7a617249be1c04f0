"""Search relevance: does the search find the song a person means? Encore against Tantivy.

    python bench/relevance.py [--database encore_bench_relevance] [--seed 2] [--per-kind 40]

Runs on a catalog loaded by ``bench/real_catalog.py``. ``--seed`` draws the queries: the
team tuned on seed 1; seed 2 and later are held out. For each kind of query below, songs are
drawn at random (a title-only query only for a title no other song has, or a famous song) and
a query is written for each as a person would type it. A result is right when it is the
target song, a song with the same title and artists (a duplicate) or, for a version (live,
remix...), the original; for a famous title typed alone, any famous song of that title
("Crazy": Seal's, Aerosmith's and Gnarls Barkley's are all right). Printed per kind and
overall: recall@10 (the right song in the first 10) and MRR (1 / its rank, 0 past 10), for
Encore (``catalog.search.song_search`` in process) and for Tantivy (its official Python
bindings, on the same search columns: title boosted 3, artists 2, album 1; each query word
must match a field whole, as a prefix, or within the same typo allowance as Encore's,
prefix-fuzzy), and each engine's median and p95 time a query (Encore's includes the page's
artists and album; Tantivy's is only the search).

The Tantivy index is built once into ``/tmp/encore-tantivy-<database>`` (``--rebuild``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KINDS = ["exact_title", "title_artist", "artist_title", "accents", "case", "last_cut",
         "every_cut", "typo_1", "typo_2", "real_word_typo", "punctuation", "long",
         "famous"]  # fmt: skip
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(word: str, rng: random.Random) -> str:
    """One edit inside the word (never its first letter): substitution, deletion, insertion
    or a swap of neighbours."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["sub", "del", "ins", "swap"])
    if kind == "sub":
        return word[:i] + rng.choice(LETTERS.replace(word[i], "")) + word[i + 1 :]
    if kind == "del":
        return word[:i] + word[i + 1 :]
    if kind == "ins":
        return word[:i] + rng.choice(LETTERS) + word[i:]
    if word[i] == word[i + 1]:
        return word[:i] + rng.choice(LETTERS.replace(word[i], "")) + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    out |= {a + c + b for a, b in splits for c in LETTERS}
    return out - {word}


class Catalog:
    """Random songs of the benchmark database and what a query for them needs."""

    def __init__(self, rng: random.Random) -> None:
        from django.db import connection

        self.rng, self.cursor = rng, connection.cursor()
        self.cursor.execute("SELECT min(id), max(id) FROM catalog_song")
        self.lo, self.hi = self.cursor.fetchone()

    def song(self, where: str = "TRUE") -> tuple:
        """(id, title, artist_names, title_norm, artists_norm) of a random song."""
        while True:
            start = self.rng.randint(self.lo, self.hi)
            self.cursor.execute(
                "SELECT id, title, artist_names, title_norm, artists_norm FROM catalog_song "
                f"WHERE id >= %s AND {where} ORDER BY id LIMIT 1",
                [start],
            )
            row = self.cursor.fetchone()
            if row:
                return row

    def unique_title(self, title_norm: str) -> bool:
        self.cursor.execute("SELECT count(*) FROM catalog_song WHERE title_norm = %s", [title_norm])
        return self.cursor.fetchone()[0] == 1

    def known(self, words: set[str]) -> list[str]:
        self.cursor.execute(
            "SELECT word FROM catalog_searchword WHERE word = ANY(%s) AND songs > 0 ORDER BY word",
            [sorted(words)],
        )
        return [w for (w,) in self.cursor.fetchall()]

    def relevant(self, row: tuple) -> set[int]:
        """The target, its duplicates, and the original of a version (a query for "Song -
        Live" typed as "song" means the original as much as the live one)."""
        from catalog.normalize import normalize

        self.cursor.execute(
            "SELECT id FROM catalog_song WHERE title_norm IN (%s, %s) AND artists_norm = %s",
            [row[3], normalize(_base(row[1])), row[4]],
        )
        return {i for (i,) in self.cursor.fetchall()}


def _strip_accents(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _base(title: str) -> str:
    """The title without its version or featuring part, as people type it."""
    for cut in (" - ", " (feat", " (Live", " (Remix", " (Extended"):
        title = title.split(cut)[0]
    return title


def make_query(kind: str, cat: Catalog, famous: list[tuple]) -> tuple[str, tuple] | None:
    """A query of ``kind`` and the song it means, or None when the song drawn does not fit."""
    from catalog.normalize import normalize

    rng = cat.rng
    if kind == "famous" or (kind == "punctuation" and rng.random() < 0.5):
        row = rng.choice(famous)
    elif kind == "punctuation":  # a name with a hyphen or dots (Jay-Z, Cole-Mills)
        row = cat.song("(artist_names LIKE '%%-%%' OR artist_names LIKE '%%.%%')")
    else:
        row = cat.song()
    _, title, artists, title_norm, _ = row
    main = artists.split(", ")[0]
    base = _base(title)
    if kind == "exact_title":
        return (title, row) if cat.unique_title(title_norm) else None
    if kind == "famous":
        return (rng.choice([title, title.lower()]), row)
    if kind == "title_artist":
        return f"{base} {main}", row
    if kind == "artist_title":
        return f"{main} {base}", row
    if kind == "accents":
        if (title + main).isascii():
            return None
        return _strip_accents(f"{base} {main}"), row
    if kind == "case":
        return rng.choice([str.upper, str.lower, str.swapcase])(f"{base} {main}"), row
    if kind == "long":
        if len(normalize(base).split()) < 6:
            return None
        return f"{base} {main}", row
    words = normalize(f"{base} {main}").split()
    if kind == "punctuation":
        from catalog.normalize import symbol_spellings

        spelled = symbol_spellings(main)
        if not spelled:
            return None
        return f"{rng.choice(spelled)} {normalize(base)}", row
    if kind == "last_cut":
        if len(words[-1]) < 4:
            return None
        return " ".join([*words[:-1], words[-1][: rng.randint(2, len(words[-1]) - 1)]]), row
    if kind == "every_cut":
        if len(words) < 2:
            return None
        return " ".join(w[: rng.randint(3, 4)] if len(w) > 4 else w for w in words), row
    if kind in ("typo_1", "typo_2", "real_word_typo"):
        lo, hi = (9, 100) if kind == "typo_2" else (5, 8)
        fit = [i for i, w in enumerate(words) if lo <= len(w) <= hi and w.isalpha()]
        if not fit:
            return None
        i = rng.choice(fit)
        if kind == "typo_2":
            words[i] = typo(typo(words[i], rng), rng)
        elif kind == "typo_1":
            words[i] = typo(words[i], rng)
        else:
            real = cat.known(edits1(words[i]))
            if not real:
                return None
            words[i] = rng.choice(real)
        return " ".join(words), row
    raise ValueError(kind)


def queries(seed: int, per_kind: int) -> list[tuple[str, str, set[int]]]:
    """(kind, query, ids of the right songs) for each kind, ``per_kind`` of each."""
    from django.db import connection

    rng = random.Random(seed)
    cat = Catalog(rng)
    with connection.cursor() as cursor:
        # The famous songs: the demo's real songs and the symbol names, loaded first.
        cursor.execute(
            "SELECT id, title, artist_names, title_norm, artists_norm FROM catalog_song "
            "WHERE popularity >= 80 AND id < (SELECT min(id) + 400 FROM catalog_song) ORDER BY id"
        )
        famous = cursor.fetchall()
    out = []
    for kind in KINDS:
        made, tries = 0, 0
        while made < per_kind and tries < per_kind * 200:
            tries += 1
            made_query = make_query(kind, cat, famous)
            if made_query:
                q, row = made_query
                right = cat.relevant(row)
                if kind == "famous":  # a title alone: any famous song of that title is meant
                    right |= {song[0] for song in famous if song[3] == row[3]}
                out.append((kind, q, right))
                made += 1
    return out


def encore_search(q: str) -> list[int]:
    from catalog.search import song_search

    return [r.song.id for r in song_search(query=q, limit=10).results]


def evaluate(name: str, search: Callable[[str], list[int]], qs: list, show_misses: int) -> dict:
    per_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    times: list[float] = []
    misses = []
    for kind, q, right in qs:
        started = time.perf_counter()
        ids = search(q)
        times.append((time.perf_counter() - started) * 1000)
        rank = next((i + 1 for i, song in enumerate(ids[:10]) if song in right), None)
        per_kind[kind].append((1.0 if rank else 0.0, 1 / rank if rank else 0.0))
        if rank is None:
            misses.append((kind, q))
    for kind, q in misses[:show_misses]:
        print(f"  {name} missed [{kind}] {q}")
    return {"kinds": per_kind, "times": times}


def summary(results: dict[str, dict]) -> None:
    from bench._common import percentile

    names = list(results)
    header = "".join(f"{n + ' R@10':>16}{n + ' MRR':>14}" for n in names)
    print(f"\n{'kind':<16}{'n':>4}{header}")
    for kind in KINDS:
        cells = ""
        n = 0
        for name in names:
            rows = results[name]["kinds"].get(kind, [])
            n = len(rows)
            if rows:
                cells += f"{statistics.mean(r for r, _ in rows):>16.3f}"
                cells += f"{statistics.mean(m for _, m in rows):>14.3f}"
        print(f"{kind:<16}{n:>4}{cells}")
    cells = ""
    for name in names:
        rows = [r for kind_rows in results[name]["kinds"].values() for r in kind_rows]
        cells += f"{statistics.mean(r for r, _ in rows):>16.3f}"
        cells += f"{statistics.mean(m for _, m in rows):>14.3f}"
    print(f"{'overall':<16}{len(rows):>4}{cells}")
    for name in names:
        worst = min(
            (statistics.mean(r for r, _ in rows), kind)
            for kind, rows in results[name]["kinds"].items()
        )
        times = results[name]["times"]
        print(f"{name}: lowest kind recall {worst[0]:.3f} ({worst[1]}); time a query p50 "
              f"{percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="encore_bench_relevance")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--misses", type=int, default=30, help="misses to print per engine")
    parser.add_argument("--no-tantivy", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ["DEBUG"] = "false"
    # Production-like DEBUG off needs a key of its own (the development default is refused).
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
    import django

    django.setup()
    from catalog.models import Song

    print(f"songs: {Song.objects.count():,}  query seed: {args.seed}  per kind: {args.per_kind}")
    qs = queries(args.seed, args.per_kind)
    for q in qs[:: max(1, args.per_kind)]:
        print(f"  e.g. [{q[0]}] {q[1]}")
    encore_search("warm up")
    results = {"encore": evaluate("encore", encore_search, qs, args.misses)}
    if not args.no_tantivy:
        from bench.relevance_tantivy import tantivy_engine

        search = tantivy_engine(args.database, rebuild=args.rebuild)
        results["tantivy"] = evaluate("tantivy", search, qs, args.misses)
    summary(results)


if __name__ == "__main__":
    main()
