"""The merge rule and the ranking of hybrid search, on rows and tracks in memory."""

from __future__ import annotations

from bench.fake_catalog import track_object
from catalog.hybrid.merge import EXACT_EXTRA, Recording, merge, same_recording
from catalog.models import Song
from catalog.normalize import normalize
from catalog.search import ScoredSong


def local(title: str, artist: str = "Band", duration_ms: int = 200_000, score: float = 10.0):
    song = Song(title=title, artist_names=artist, duration_ms=duration_ms)
    song.title_norm = normalize(title)
    song.display_artists = [{"id": 1, "name": artist, "spotify_id": None}]
    return ScoredSong(song, score)


def track(title: str, artist: str = "Band", duration_ms: int = 200_000, **kwargs):
    return track_object(name=title, artists=[artist], album="A", duration_ms=duration_ms, **kwargs)


def test_version_words_and_artists_decide_between_recordings():
    studio = Recording.of_song(local("Hurt", "Johnny Cash").song)
    remaster = Recording.of_track(track("Hurt - Remastered 2002", "Johnny Cash"))
    assert same_recording(studio, remaster)
    assert not same_recording(studio, Recording.of_track(track("Hurt (Live)", "Johnny Cash")))
    assert not same_recording(studio, Recording.of_track(track("Hurt", "Nine Inch Nails")))
    karaoke = Recording.of_track(track("Hurt", "Karaoke Hits Band"))
    assert not same_recording(studio, karaoke)


def test_local_results_are_never_pushed_off_their_page():
    page = [local(f"Night {i}", score=20 - i) for i in range(3)]
    tracks = [track(f"Other {i}", f"Artist {i}") for i in range(5)]

    hits = merge(page, tracks, titles={"night"}, limit=4)

    assert [h.source for h in hits] == ["local", "local", "local", "spotify"]


def test_exact_titles_come_first_and_a_full_page_still_shows_a_few():
    page = [local(f"Night {i}", score=20 - i) for i in range(3)]
    exact = [track("Night", f"Artist {i}", duration_ms=100_000 + i * 10_000) for i in range(4)]

    hits = merge(page, [track("Night Owl", "Owls"), *exact], titles={"night"}, limit=3)

    assert [h.source for h in hits] == ["spotify"] * EXACT_EXTRA + ["local"] * 3
    assert [h.track["id"] for h in hits[:EXACT_EXTRA] if h.track] == [
        t["id"] for t in exact[:EXACT_EXTRA]
    ]


def test_a_local_exact_title_stays_above_spotify():
    page = [local("Night", score=100), local("Night Fever", score=40)]
    hits = merge(page, [track("Night", "Someone Else")], titles={"night"}, limit=10)
    assert [(h.source, h.song.title if h.song else None) for h in hits] == [
        ("local", "Night"), ("spotify", None), ("local", "Night Fever")
    ]  # fmt: skip
