"""Metadata refresh (catalog.enrichment.refresh) with Spotify mocked at the wire."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.test import override_settings
from django.utils import timezone

from catalog.enrichment.refresh import songs_refresh
from catalog.enrichment.selection import songs_to_refresh
from catalog.models import MatchStatus, Song, SongMatch
from spotify_integration.client import SpotifyClient
from tests.catalog.enrichment.wire import full_track, serve_tracks, spotify_id, stale_songs
from tests.catalog.factories import SongFactory
from tests.spotify_integration.fakes import API

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("spotify")]
EXTENDED = override_settings(SPOTIFY_APP_MODE="extended", SPOTIFY_RATE_LIMIT_CALLS=100_000)
DEVELOPMENT = override_settings(SPOTIFY_APP_MODE="development", SPOTIFY_RATE_LIMIT_CALLS=100_000)


def api_calls(spotify: Any) -> list[Any]:
    return spotify.calls_to(API)


def refresh_stale() -> Any:
    ids = list(songs_to_refresh())
    return songs_refresh(song_ids=ids, client=SpotifyClient.for_app())


@EXTENDED
@pytest.mark.parametrize("stale", [1000, 120])
def test_extended_mode_reads_50_tracks_a_call(spotify, stale):
    stale_songs(stale)
    serve_tracks(spotify)

    report = refresh_stale()

    assert len(api_calls(spotify)) == report.calls == -(-stale // 50)  # 20 per 1,000
    assert report.by_endpoint == {"GET /tracks": report.calls}
    assert report.refreshed == stale and report.gone == 0
    song = Song.objects.order_by("id").first()
    assert song is not None and song.spotify_synced_at is not None
    assert (song.popularity, song.preview_url) == (55, "https://p.scdn.co/mp3-preview/abc")
    assert song.album_image_url == "https://i.scdn.co/image/large"  # the widest image


@DEVELOPMENT
def test_development_mode_reads_one_track_a_call_never_more(spotify):
    stale_songs(1000)
    serve_tracks(spotify, popularity=None, preview_url=None)

    report = refresh_stale()

    assert len(api_calls(spotify)) == report.calls == 1000
    assert report.by_endpoint == {"GET /tracks/{id}": 1000}
    assert not [c for c in api_calls(spotify) if "/tracks?" in c.request.url]


@EXTENDED
def test_fresh_rows_cost_nothing_and_a_second_run_makes_no_call(spotify):
    stale_songs(60)
    serve_tracks(spotify)
    SongFactory(spotify_id=spotify_id(900), spotify_synced_at=timezone.now() - timedelta(days=29))
    SongFactory(title="no id")  # nothing to refresh

    first = refresh_stale()
    second = refresh_stale()

    assert (first.songs, first.calls) == (60, 2)
    assert (second.songs, second.calls) == (0, 0)
    assert len(api_calls(spotify)) == 2


def test_stale_after_the_setting(settings):
    # (No override_settings decorator here: combined with the ``settings`` fixture, the
    # fixture's teardown would restore the decorator's settings after the decorator ended,
    # leaking them into later tests.)
    old = SongFactory(
        spotify_id=spotify_id(1), spotify_synced_at=timezone.now() - timedelta(days=8)
    )
    assert list(songs_to_refresh()) == []
    settings.SPOTIFY_REFRESH_AFTER_DAYS = 7
    assert list(songs_to_refresh()) == [old.pk]
    assert list(songs_to_refresh(older_than_days=10)) == []
    assert list(songs_to_refresh(song_ids=[old.pk], older_than_days=10)) == [old.pk]  # given


@DEVELOPMENT
def test_a_404_marks_the_song_gone_and_keeps_it_with_its_fields(spotify):
    kept, gone = stale_songs(2, popularity=31, preview_url="https://p.scdn.co/old")
    serve_tracks(spotify, missing={gone.spotify_id})

    report = refresh_stale()

    assert (report.refreshed, report.gone, report.calls) == (1, 1, 2)
    gone.refresh_from_db()
    assert gone.match_status == MatchStatus.GONE
    assert (gone.spotify_id, gone.popularity, gone.preview_url) == (
        spotify_id(2), 31, "https://p.scdn.co/old",
    )  # fmt: skip
    assert gone.spotify_synced_at is not None
    # Gone songs are not asked about again unless asked for.
    assert list(songs_to_refresh(older_than_days=0)) == [kept.pk]
    assert gone.pk in list(songs_to_refresh(older_than_days=0, include_gone=True))


@DEVELOPMENT
def test_a_gone_song_that_comes_back_is_matched_again(spotify):
    (song,) = stale_songs(1, match_status=MatchStatus.GONE)
    serve_tracks(spotify)
    songs_refresh(song_ids=[song.pk], client=SpotifyClient.for_app())
    song.refresh_from_db()
    assert song.match_status == MatchStatus.MATCHED and song.popularity == 55


@DEVELOPMENT
def test_fields_spotify_no_longer_sends_are_kept_not_blanked(spotify):
    (song,) = stale_songs(
        1, popularity=42, preview_url="https://p.scdn.co/kept", isrc="USABC1234567", explicit=True
    )
    serve_tracks(spotify, popularity=None, preview_url=None, isrc="GBUM71029604", explicit=False)

    refresh_stale()

    song.refresh_from_db()
    assert (song.popularity, song.preview_url) == (42, "https://p.scdn.co/kept")
    assert song.isrc == "USABC1234567"  # only written when the song had none
    assert song.explicit is True  # only written when unknown
    assert song.album_image_url == "https://i.scdn.co/image/large"


@DEVELOPMENT
def test_isrc_and_explicit_are_filled_when_unknown(spotify):
    (song,) = stale_songs(1, isrc=None, explicit=None)
    serve_tracks(spotify, isrc="GBUM71029604", explicit=True)
    refresh_stale()
    song.refresh_from_db()
    assert (song.isrc, song.explicit) == ("GBUM71029604", True)


@DEVELOPMENT
def test_a_song_a_person_matched_gets_only_its_empty_fields_filled(spotify):
    (song,) = stale_songs(1, album_image_url="https://example.com/chosen.jpg", popularity=None)
    SongMatch.objects.create(
        song=song, status=MatchStatus.MATCHED, manual=True, decided_at=timezone.now()
    )
    serve_tracks(spotify)
    refresh_stale()
    song.refresh_from_db()
    assert song.album_image_url == "https://example.com/chosen.jpg"
    assert song.popularity == 55


@EXTENDED
def test_a_run_killed_halfway_keeps_its_batches_and_the_next_run_does_the_rest(spotify):
    stale_songs(150)
    serve_tracks(spotify)

    def killed_after_first_batch(report: Any) -> bool:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        songs_refresh(
            song_ids=list(songs_to_refresh()),
            client=SpotifyClient.for_app(),
            on_batch=killed_after_first_batch,
        )
    assert Song.objects.filter(spotify_synced_at__isnull=False).count() == 50

    again = refresh_stale()
    assert (again.songs, again.calls) == (100, 2)
    assert len(api_calls(spotify)) == 3
    assert not Song.objects.filter(spotify_synced_at__isnull=True).exists()


@DEVELOPMENT
def test_a_song_changed_while_the_calls_waited_is_not_written_over(spotify):
    (song,) = stale_songs(1, popularity=10)
    body = full_track(song.spotify_id or "", popularity=99)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        # A reviewer gives the song another track while its refresh call is on the way.
        Song.objects.filter(pk=song.pk).update(spotify_id=spotify_id(777), popularity=20)
        return 200, {}, json.dumps(body)

    spotify.token()
    spotify.rsps.add_callback(responses.GET, f"{API}tracks/{song.spotify_id}", answer)

    report = refresh_stale()

    assert (report.refreshed, report.skipped, report.calls) == (0, 1, 1)
    song.refresh_from_db()
    assert (song.spotify_id, song.popularity) == (spotify_id(777), 20)
    assert song.spotify_synced_at is None
