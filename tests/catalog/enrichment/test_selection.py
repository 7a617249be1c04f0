"""Which songs each enrichment job takes (catalog.enrichment.selection)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.enrichment.selection import (
    artists_named,
    id_batches,
    songs_to_match,
    songs_to_refresh,
)
from catalog.models import Artist, MatchStatus, Song, SongMatch
from tests.catalog.enrichment.wire import spotify_id
from tests.catalog.factories import SongFactory

pytestmark = pytest.mark.django_db


def decided(song: Song, status: str, *, days_ago: int = 0, manual: bool = False) -> Song:
    SongMatch.objects.create(
        song=song,
        status=status,
        manual=manual,
        decided_at=timezone.now() - timedelta(days=days_ago),
    )
    Song.objects.filter(pk=song.pk).update(match_status=status)
    return song


@pytest.fixture
def catalog() -> dict[str, Song]:
    return {
        "new": SongFactory(artists=["Beyoncé", "JAY-Z"]),
        "matched": decided(SongFactory(spotify_id=spotify_id(1)), MatchStatus.MATCHED),
        "review": decided(SongFactory(), MatchStatus.NEEDS_REVIEW, days_ago=2),
        "old_no_match": decided(SongFactory(), MatchStatus.NO_MATCH, days_ago=40),
        "recent_no_match": decided(SongFactory(), MatchStatus.NO_MATCH, days_ago=1),
        "manual_reject": decided(SongFactory(), MatchStatus.NO_MATCH, days_ago=90, manual=True),
        "gone": decided(SongFactory(spotify_id=spotify_id(3)), MatchStatus.GONE),
        "manual_match": decided(
            SongFactory(spotify_id=spotify_id(2), artists=["Beyoncé"]),
            MatchStatus.MATCHED,
            manual=True,
        ),
    }


def names(ids, catalog) -> list[str]:
    by_id = {song.pk: name for name, song in catalog.items()}
    return [by_id[i] for i in ids]


def test_default_match_selection_is_songs_without_a_spotify_id_never_manual(catalog):
    assert names(songs_to_match(), catalog) == ["new", "review", "old_no_match", "recent_no_match"]


@pytest.mark.parametrize(
    ("mode", "older_than_days", "expected"),
    [
        ("never_tried", None, ["new"]),
        ("needs_review", None, ["review"]),
        ("no_match", None, ["old_no_match", "recent_no_match"]),
        ("no_match", 30, ["old_no_match"]),
        ("gone", None, ["gone"]),
        ("all", None, ["new", "matched", "review", "old_no_match", "recent_no_match", "gone"]),
    ],
)
def test_match_modes(catalog, mode, older_than_days, expected):
    assert names(songs_to_match(mode=mode, older_than_days=older_than_days), catalog) == expected


def test_given_ids_are_taken_whatever_their_status_but_never_a_manual_one(catalog):
    ids = [catalog[n].pk for n in ("matched", "manual_match", "manual_reject", "new")]
    assert names(songs_to_match(song_ids=ids), catalog) == ["new", "matched"]


def test_an_artist_by_catalog_id_spotify_id_or_name(catalog):
    beyonce = Artist.objects.get(name="Beyoncé")
    Artist.objects.filter(pk=beyonce.pk).update(spotify_id="6vWDO969PvNqNYHIOW5v0m")
    for value in [str(beyonce.pk), "6vWDO969PvNqNYHIOW5v0m", "beyonce", "BEYONCÉ"]:
        assert list(artists_named(value)) == [beyonce], value
        assert names(songs_to_match(artist=value, mode="all"), catalog) == ["new"], value
    assert names(songs_to_match(artist="jay-z"), catalog) == ["new"]  # a featured artist too
    assert list(songs_to_match(artist="Nobody")) == []


def test_refresh_selection_takes_songs_with_an_id_stale_or_never_synced(catalog):
    Song.objects.filter(pk=catalog["manual_match"].pk).update(spotify_synced_at=timezone.now())
    assert names(songs_to_refresh(), catalog) == ["matched"]  # not the gone one
    assert names(songs_to_refresh(include_gone=True), catalog) == ["matched", "gone"]


def test_id_batches_walk_by_keyset_and_stop_at_the_limit(catalog):
    ids = songs_to_match(mode="all")
    assert [len(b) for b in id_batches(ids, size=2)] == [2, 2, 2]
    assert [i for b in id_batches(ids, size=2, limit=3) for i in b] == list(ids)[:3]
