import random

import pytest

from catalog.models import Song
from catalog.records import SongRecord
from catalog.services import song_import
from catalog.upsert import prepare, resolve
from tests.catalog.samples import HEADER


def _random_batch(rng: random.Random) -> list[SongRecord]:
    """Records that often share Spotify ids, ISRCs and metadata, in every combination."""
    return [
        SongRecord(
            title=rng.choice(["One", "Two"]),
            artists=[rng.choice(["A", "B"])],
            album=rng.choice([None, "X"]),
            spotify_id=rng.choice([None, None, "0" * 21 + "1", "0" * 21 + "2"]),
            isrc=rng.choice([None, None, "USABC2400001", "USABC2400002"]),
        )
        for _ in range(rng.randint(1, 6))
    ]


@pytest.mark.django_db
def test_the_shortcut_for_unrelated_batches_gives_what_the_walk_gives(monkeypatch):
    """Batches with nothing shared skip the record-by-record walk: same keys either way."""
    rng = random.Random(7)
    shortcut_taken = 0
    for _ in range(400):
        items = [prepare(r, copy_text=False) for r in _random_batch(rng)]
        fast = resolve.resolve_keys(items)
        with monkeypatch.context() as patched:
            patched.setattr(resolve, "unrelated", lambda *args: False)
            walked = resolve.resolve_keys(items)
        assert fast == walked
        shortcut_taken += resolve.unrelated(
            items,
            {i.record.spotify_id for i in items if i.record.spotify_id},
            {i.record.isrc for i in items if i.record.isrc},
        )
    assert 50 < shortcut_taken < 400  # both ways were exercised


@pytest.mark.django_db
def test_of_songs_sharing_an_isrc_the_one_keyed_by_it_then_the_oldest_is_chosen(monkeypatch):
    isrc = "USABC2400001"
    # The look-up answers in no particular order: here the newest first.
    stored = [
        ("sp:0000000000000000000003", "0000000000000000000003", isrc, 30),
        ("sp:0000000000000000000002", "0000000000000000000002", isrc, 20),
        ("sp:0000000000000000000001", "0000000000000000000001", isrc, 10),
    ]
    monkeypatch.setattr(resolve, "lookup_songs", lambda *args: stored)
    line = [prepare(SongRecord(title="T", artists=["A"], isrc=isrc), copy_text=False)]
    assert resolve.resolve_keys(line) == [("sp:0000000000000000000001", True)]
    keyed = [(f"isrc:{isrc}", None, isrc, 40), *stored]
    monkeypatch.setattr(resolve, "lookup_songs", lambda *args: keyed)
    assert resolve.resolve_keys(line) == [(f"isrc:{isrc}", True)]


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_line_known_only_by_an_isrc_two_songs_share_joins_the_oldest(write_file, batch_size):
    text = (
        HEADER
        + "First,A,,1000,USABC2400001,,,0000000000000000000001\n"
        + "Second,B,,1000,USABC2400001,,,0000000000000000000002\n"
        + "Renamed,,,1000,USABC2400001,,,\n"
    )
    song_import(path=write_file("a.csv", text), batch_size=batch_size)
    titles = dict(Song.objects.values_list("spotify_id", "title"))
    assert titles == {"0000000000000000000001": "Renamed", "0000000000000000000002": "Second"}
    assert song_import(path=write_file("a.csv", text)).unchanged == 3
