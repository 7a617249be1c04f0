"""A realistic benchmark catalog: real-language words, real-looking names, a long tail.

    python bench/real_catalog.py --database encore_bench_relevance [--songs 1000000]

``realistic_records(count, seed)`` yields the same songs for the same seed (dev requirements
only: wordfreq, Faker). What it models, after the misses issue 13 lists:

- titles from real vocabularies (wordfreq's most frequent words of English, Spanish,
  French, German, Portuguese, Italian, Swedish and Dutch), drawn Zipf-like, so common words
  repeat across thousands of songs and the long tail is long (some 165,000
  distinct words at a million songs);
- artists with real-looking names across those locales (Faker) and band names from the same
  words; songs per artist Zipf-like (a few artists have hundreds, most a handful);
- featured artists, covers (another artist's song of the same title), live versions,
  remixes, acoustic versions and remasters of the same song;
- the demo's real well-known songs (catalog/demo_data/real_songs.csv) plus names written
  with symbols (P!nk, Ke$ha, R.E.M., AC/DC, Guns N' Roses, will.i.am), hidden among the rest,
  with a popularity of 80-90; the generated songs have a long-tailed popularity up to 70,
  so popularity alone does not find the famous ones.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_SEED = 13
LANGUAGES = {"en": 60000, "es": 40000, "fr": 30000, "de": 30000, "pt": 25000, "it": 25000,
             "sv": 15000, "nl": 15000}  # fmt: skip
LOCALES = {"en": ["en_US", "en_GB"], "es": ["es_ES", "es_MX"], "fr": ["fr_FR"], "de": ["de_DE"],
           "pt": ["pt_BR"], "it": ["it_IT"], "sv": ["sv_SE"], "nl": ["nl_NL"]}  # fmt: skip
LANGUAGE_SHARE = {"en": 0.5, "es": 0.14, "fr": 0.08, "de": 0.08, "pt": 0.07, "it": 0.05,
                  "sv": 0.04, "nl": 0.04}  # fmt: skip
SYMBOL_SONGS = [
    ("So What", ["P!nk"], "Funhouse", 2008), ("Just Give Me a Reason", ["P!nk", "Nate Ruess"],
    "The Truth About Love", 2012), ("Raise Your Glass", ["P!nk"], "Greatest Hits", 2010),
    ("Tik Tok", ["Ke$ha"], "Animal", 2009), ("Blow", ["Ke$ha"], "Cannibal", 2010),
    ("Everybody Hurts", ["R.E.M."], "Automatic for the People", 1992),
    ("Man on the Moon", ["R.E.M."], "Automatic for the People", 1992),
    ("Highway to Hell", ["AC/DC"], "Highway to Hell", 1979),
    ("Thunderstruck", ["AC/DC"], "The Razors Edge", 1990),
    ("Welcome to the Jungle", ["Guns N' Roses"], "Appetite for Destruction", 1987),
    ("November Rain", ["Guns N' Roses"], "Use Your Illusion I", 1991),
    ("Scream & Shout", ["will.i.am", "Britney Spears"], "#willpower", 2012),
    ("This Is Love", ["will.i.am", "Eva Simons"], "#willpower", 2012),
    ("High Hopes", ["Panic! At The Disco"], "Pray for the Wicked", 2018),
    ("Paper Planes", ["M.I.A."], "Kala", 2007),
]  # fmt: skip
VERSIONS = [" - Live", " - Remastered {year}", " (Remix)", " - Acoustic", " - Radio Edit",
            " (Live at {venue})", " - {year} Remaster", " (Extended Mix)", " - Demo"]  # fmt: skip
VENUES = ["Wembley", "Budokan", "Red Rocks", "the Olympia", "Montreux", "Glastonbury"]
BAND_NOUNS = [
    "Wolves",
    "Lions",
    "Ravens",
    "Kings",
    "Knights",
    "Pilots",
    "Strangers",
    "Saints",
    "Giants",
    "Echoes",
    "Shadows",
    "Comets",
    "Horses",
    "Sisters",
    "Brothers",
    "Boys",
    "Girls",
    "Orchestra",
    "Collective",
    "Project",
    "Band",
    "Trio",
    "Club",
    "Society",
]


class _Zipf:
    """Draws items with weight 1 / (rank + offset) ** s."""

    def __init__(self, items: list, s: float, offset: float, rng: random.Random) -> None:
        self.items, self.rng = items, rng
        self.cum = list(itertools.accumulate(1 / (r + offset) ** s for r in range(len(items))))

    def __call__(self) -> object:
        x = self.rng.random() * self.cum[-1]
        return self.items[min(bisect.bisect(self.cum, x), len(self.items) - 1)]


def _vocabulary(language: str, size: int) -> list[str]:
    from wordfreq import top_n_list

    # Words of letters, of two or more ("a", "o", "y", and "ao", "oy" too, are kept).
    words = top_n_list(language, size * 2)
    return [w for w in words if (w.isalpha() and len(w) > 1) or w in "aoy"][:size]


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


class _Generator:
    def __init__(self, seed: int, songs: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        rng = self.rng
        self.words = {
            lang: _Zipf(_vocabulary(lang, size), 1.0, 20, rng) for lang, size in LANGUAGES.items()
        }
        self.languages = list(LANGUAGE_SHARE)
        self.language_weights = list(LANGUAGE_SHARE.values())
        fakers = {lang: Faker(locales) for lang, locales in LOCALES.items()}
        for i, fake in enumerate(fakers.values()):
            fake.seed_instance(seed * 100 + i)
        artists: list[tuple[str, str]] = []
        seen: set[str] = set()
        while len(artists) < max(20, songs // 12):
            lang = rng.choices(self.languages, self.language_weights)[0]
            r = rng.random()
            if r < 0.5:
                name = f"{fakers[lang].first_name()} {fakers[lang].last_name()}"
            elif r < 0.65:
                name = fakers[lang].first_name()
            elif r < 0.85:
                name = f"The {_cap(self.word(lang))} {rng.choice(BAND_NOUNS)}"
            else:
                name = " ".join(_cap(self.word(lang)) for _ in range(rng.randint(1, 2)))
            if name.lower() not in seen:
                seen.add(name.lower())
                artists.append((name, lang))
        rng.shuffle(artists)
        self.artist = _Zipf(artists, 0.75, 10, rng)

    def word(self, lang: str) -> str:
        return str(self.words[lang]())

    def title(self, lang: str) -> str:
        n = self.rng.choices([1, 2, 3, 4, 5, 6, 8], [18, 30, 22, 14, 8, 5, 3])[0]
        words = [self.word(lang) for _ in range(n)]
        return (
            " ".join([_cap(words[0]), *words[1:]])
            if self.rng.random() < 0.5
            else " ".join(_cap(w) for w in words)
        )

    def version(self, title: str, year: int) -> str:
        pattern = self.rng.choice(VERSIONS)
        return title + pattern.format(
            year=self.rng.randint(year, 2026), venue=self.rng.choice(VENUES)
        )


def realistic_records(count: int, *, seed: int = DEFAULT_SEED) -> Iterator:
    """``count`` songs: the famous ones first (the real songs and the symbol names), then
    generated ones; the same seed and count always give the same songs."""
    from catalog.demo import real_records
    from catalog.records import SongRecord

    made = 0
    for record in itertools.chain(real_records(), _symbol_records()):
        if made >= count:
            return
        made += 1
        yield record
    g = _Generator(seed, count)
    rng = g.rng
    recent: list[tuple[str, str, int]] = []  # (title, language, year) of songs made, for covers
    while made < count:
        main, lang = g.artist()  # type: ignore[misc]
        year = rng.randint(1960, 2026)
        album = g.title(lang)
        for _track in range(rng.randint(3, 14)):
            if made >= count:
                return
            credited = [main]
            kind = rng.random()
            if kind < 0.04 and recent:
                title, _, _ = rng.choice(recent)  # a cover
            else:
                title = g.title(lang)
                recent.append((title, lang, year))
                if len(recent) > 5000:
                    recent.pop(rng.randrange(len(recent)))
            if rng.random() < 0.1:
                featured = str(g.artist()[0])  # type: ignore[index]
                if featured != main:
                    credited.append(featured)
                    if rng.random() < 0.5:
                        title = f"{title} (feat. {featured})"
            versions = [title]
            if rng.random() < 0.08:
                versions += [g.version(title, year) for _ in range(rng.randint(1, 3))]
            for version in versions:
                if made >= count:
                    return
                made += 1
                yield SongRecord(
                    title=version,
                    artists=list(dict.fromkeys(credited)),
                    album=album,
                    duration_ms=rng.randint(95_000, 480_000),
                    release_date=date(year, rng.randint(1, 12), rng.randint(1, 28)),
                    release_date_precision="day",
                    release_year=year,
                    explicit=rng.random() < 0.1,
                    popularity=min(70, int(rng.paretovariate(1.6) * 8)),
                )


def _symbol_records() -> Iterator:
    from catalog.records import SongRecord

    for title, artists, album, year in SYMBOL_SONGS:
        yield SongRecord(
            title=title, artists=artists, album=album, release_date=date(year, 1, 1),
            release_date_precision="year", release_year=year, popularity=80,
        )  # fmt: skip


def load(songs: int, seed: int) -> None:
    from django.db import connection

    from catalog.services import song_records_upsert
    from catalog.vocabulary import refresh_word_counts

    print(f"loading {songs:,} realistic songs (seed {seed}) ...", flush=True)
    started = time.perf_counter()
    report = song_records_upsert(records=realistic_records(songs, seed=seed), batch_size=2000)
    print(f"  created {report.created:,} in {time.perf_counter() - started:.0f} s", flush=True)
    refresh_word_counts()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    print(f"  ready in {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="encore_bench_relevance")
    parser.add_argument("--songs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    from bench._common import setup_django

    setup_django(args.database)
    load(args.songs, args.seed)


if __name__ == "__main__":
    main()
