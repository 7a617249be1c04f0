"""Matching accuracy: the real matching path against a fake Spotify with hard distractors.

    python bench/match_accuracy.py [--songs 400] [--tune-seed 1] [--report-seed 3]
                                   [--mode development|extended]

For each seed: generates the labelled set (bench/match_set.py), serves its Spotify catalog
from the fake Spotify (bench/fake_spotify.py) on a local port, loads the local songs into a
scratch PostgreSQL database (``encore_bench_match``), points ``SPOTIFY_API_URL`` /
``SPOTIFY_ACCOUNTS_URL`` at the fake and runs ``song_match`` for every song through
``SpotifyClient.for_app()``, as a job would. Then prints, per seed: precision and recall of
``matched``, the share sent to review, how right ``no_match`` was, Spotify calls per song, and
a per-category breakdown.

Rules and thresholds were worked out on seed 1 (seed 2 was looked at too); seeds 3 and 4
were first run after the last change: the report seed is the figure to quote.
Targets (issue 10): precision >= 0.99, recall >= 0.90, review <= 10 %.
The shared rate budget is lifted for the run (``SPOTIFY_RATE_LIMIT_CALLS``): this measures
decisions, not pacing (bench/enrich.py measures that).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fake_spotify import FakeSpotify
from bench.match_set import Case, generate

DATABASE = "encore_bench_match"


def configure(mode: str) -> None:
    os.environ.setdefault("SPOTIFY_CLIENT_ID", "bench-client")
    os.environ.setdefault("SPOTIFY_CLIENT_SECRET", "bench-secret")
    os.environ["SPOTIFY_APP_MODE"] = mode
    os.environ["SPOTIFY_RATE_LIMIT_CALLS"] = "1000000"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from bench._common import setup_django

    setup_django(DATABASE)


def load(cases: list[Case]) -> list[int]:
    """The local songs as rows (artists linked in order); their ids in case order."""
    from catalog.models import Album, Artist, Song, SongArtist, artist_key
    from catalog.services import song_artists_refresh

    ids = []
    for case in cases:
        local = case.local
        album = None
        if local["album"]:
            album, _ = Album.objects.get_or_create(
                album_key=Album.key_for(local["album"], local["artists"][0]),
                defaults={"title": local["album"], "main_artist_name": local["artists"][0]},
            )
        song = Song(title=local["title"], album=album, duration_ms=local["duration_ms"],
                    isrc=local["isrc"], release_year=local["year"],
                    artist_names=", ".join(local["artists"]))  # fmt: skip
        song.save()
        for position, name in enumerate(local["artists"]):
            artist, _ = Artist.objects.get_or_create(
                name_key=artist_key(name), defaults={"name": name}
            )
            SongArtist.objects.create(song=song, artist=artist, position=position)
        song_artists_refresh(song=song)
        ids.append(song.pk)
    return ids


def run(seed: int, songs: int, mode: str) -> dict[str, Any]:
    from django.conf import settings
    from django.core.cache import cache

    from catalog.enrichment.match import song_match
    from catalog.models import Song, SongMatch
    from spotify_integration.client import SpotifyClient

    cases, tracks = generate(seed=seed, songs=songs)
    SongMatch.objects.all().delete()
    Song.objects.all().delete()
    cache.clear()
    ids = load(cases)
    fake = FakeSpotify(tracks=tracks, mode=mode)
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = fake.start()
    try:
        client = SpotifyClient.for_app()
        rows = Song.objects.select_related("album").prefetch_related("song_artists__artist")
        by_id = {s.pk: s for s in rows.filter(pk__in=ids)}
        started = time.perf_counter()
        results = []
        for case, pk in zip(cases, ids, strict=True):
            outcome = song_match(song=by_id[pk], client=client)
            assert outcome is not None
            chosen = outcome.best.candidate.spotify_id if outcome.status == "matched" and \
                outcome.best else None  # fmt: skip
            results.append((case, outcome.status, chosen))
        seconds = time.perf_counter() - started
    finally:
        fake.stop()
    return summarise(results, calls=fake.api_calls, seconds=seconds, fake=fake)


def summarise(
    results: list[tuple[Case, str, str | None]], *, calls: int, seconds: float, fake: FakeSpotify
) -> dict[str, Any]:
    total = len(results)
    matched = [(c, s, x) for c, s, x in results if s == "matched"]
    right = [1 for c, _s, x in matched if x in c.expected]
    on_spotify = [c for c, _s, _x in results if c.expected]
    absent = [(c, s) for c, s, _x in results if not c.expected]
    no_match = [(c, s) for c, s, _x in results if s == "no_match"]
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for case, status, chosen in results:
        row = per[case.category]
        row["n"] += 1
        if status == "matched":
            row["right" if chosen in case.expected else "WRONG"] += 1
        else:
            row[status] += 1
    return {
        "songs": total,
        "precision": len(right) / len(matched) if matched else 1.0,
        "recall": len(right) / len(on_spotify) if on_spotify else 1.0,
        "review": sum(1 for _c, s, _x in results if s == "needs_review") / total,
        "no_match_right": sum(1 for c, _s in no_match if not c.expected) / len(no_match)
        if no_match else 1.0,
        "absent_no_match": sum(1 for _c, s in absent if s == "no_match") / len(absent)
        if absent else 1.0,
        "absent": len(absent),
        "matched": len(matched),
        "wrong": len(matched) - len(right),
        "calls_per_song": calls / total,
        "calls": dict(fake.calls),
        "rate_limited": fake.rate_limited,
        "seconds": seconds,
        "per_category": per,
    }  # fmt: skip


def show(title: str, r: dict[str, Any]) -> None:
    print(f"\n== {title}: {r['songs']} songs ({r['absent']} not on Spotify)")
    print(
        f"  precision of matched  {r['precision']:.4f}  ({r['matched']} matched, "
        f"{r['wrong']} wrong)   target >= 0.99"
    )
    print(f"  recall of matched     {r['recall']:.4f}   target >= 0.90")
    print(f"  sent to review        {r['review']:.1%}   target <= 10 %")
    print(
        f"  no_match correct      {r['no_match_right']:.1%} of no_match decisions; "
        f"{r['absent_no_match']:.1%} of the songs not on Spotify got no_match"
    )
    print(
        f"  Spotify calls / song  {r['calls_per_song']:.2f}  {r['calls']}  "
        f"429s: {r['rate_limited']}   {r['seconds']:.1f} s"
    )
    print(f"  {'category':<26} {'n':>4} {'right':>6} {'WRONG':>6} {'review':>7} {'no_match':>9}")
    for category, row in sorted(r["per_category"].items()):
        print(f"  {category:<26} {row['n']:>4} {row['right']:>6} {row['WRONG']:>6} "
              f"{row['needs_review']:>7} {row['no_match']:>9}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=400)
    parser.add_argument("--tune-seed", type=int, default=1)
    parser.add_argument("--report-seed", type=int, default=3)
    parser.add_argument("--mode", choices=("development", "extended"), default="development")
    args = parser.parse_args()
    configure(args.mode)
    from catalog.enrichment.match import match_thresholds

    print(f"thresholds: {match_thresholds()}  mode: {args.mode}")
    tuned = run(args.tune_seed, args.songs, args.mode)
    show(f"seed {args.tune_seed} (tuned on)", tuned)
    report = run(args.report_seed, args.songs, args.mode)
    show(f"seed {args.report_seed} (held out: the figures to quote)", report)
    ok = report["precision"] >= 0.99 and report["recall"] >= 0.90 and report["review"] <= 0.10
    print(f"\ntargets on the held-out seed: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
