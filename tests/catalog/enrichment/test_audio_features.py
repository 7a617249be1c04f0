"""Audio features (catalog.enrichment.audio_features) with Spotify mocked at the wire."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from catalog.enrichment.audio_features import (
    NOT_IN_DEVELOPMENT_MODE,
    REFUSED_TO_THIS_APP,
    songs_audio_features,
)
from catalog.enrichment.selection import songs_without_audio_features
from catalog.models import MatchStatus, Song
from spotify_integration.client import SpotifyClient
from tests.catalog.enrichment.wire import serve_features, stale_songs
from tests.spotify_integration.fakes import API, error_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("spotify")]
EXTENDED = override_settings(SPOTIFY_APP_MODE="extended", SPOTIFY_RATE_LIMIT_CALLS=100_000)


def run() -> Any:
    ids = list(songs_without_audio_features())
    return songs_audio_features(song_ids=ids, client=SpotifyClient.for_app())


def feature_calls(spotify: Any) -> list[Any]:
    return [c for c in spotify.calls_to(API) if "audio-features" in c.request.url]


@EXTENDED
def test_extended_mode_asks_100_tracks_a_call_and_stores_the_features(spotify):
    stale_songs(250)
    serve_features(spotify)

    report = run()

    assert len(spotify.calls_to(API)) == report.calls == 3
    assert (report.songs, report.stored, report.none) == (250, 250, 0)
    song = Song.objects.order_by("id").first()
    assert song is not None and song.audio_features_synced_at is not None
    assert song.audio_features is not None and song.audio_features["tempo"] == 100.0
    assert "analysis_url" not in song.audio_features  # the musical values only


@EXTENDED
def test_a_null_from_spotify_is_remembered_so_a_second_run_makes_no_call(spotify):
    _, hasnt = stale_songs(2)
    Song.objects.filter(pk=hasnt.pk).update(audio_features={"tempo": 90.0})
    serve_features(spotify, none_for={hasnt.spotify_id or ""})

    first = run()
    second = run()

    assert (first.stored, first.none, first.calls) == (1, 1, 1)
    assert (second.songs, second.calls) == (0, 0)
    assert len(feature_calls(spotify)) == 1
    hasnt.refresh_from_db()
    assert hasnt.audio_features == {"tempo": 90.0}  # kept, not blanked
    assert hasnt.audio_features_synced_at is not None


@EXTENDED
def test_given_songs_are_asked_again_and_gone_ones_are_left_out(spotify):
    first, gone, _ = stale_songs(3)
    Song.objects.filter(pk=gone.pk).update(match_status=MatchStatus.GONE)
    serve_features(spotify)
    run()
    assert len(feature_calls(spotify)) == 1
    assert list(songs_without_audio_features()) == []
    assert list(songs_without_audio_features(song_ids=[first.pk, gone.pk])) == [first.pk]


@override_settings(SPOTIFY_APP_MODE="development")
def test_development_mode_ends_at_once_with_the_reason_and_no_call(spotify):
    stale_songs(5)
    report = run()
    assert report.unavailable == NOT_IN_DEVELOPMENT_MODE
    assert "not available to development-mode apps" in report.unavailable
    assert (report.calls, report.songs) == (0, 0)
    assert not spotify.rsps.calls
    assert not Song.objects.filter(audio_features_synced_at__isnull=False).exists()


@EXTENDED
def test_an_extended_app_refused_with_403_remembers_it_and_says_why(spotify):
    stale_songs(150)
    spotify.token()
    spotify.api("GET", "/audio-features", status=403, body=error_body(403, "Forbidden"))

    report = run()
    again = run()

    assert report.unavailable == REFUSED_TO_THIS_APP and report.calls == 1
    assert again.unavailable == REFUSED_TO_THIS_APP and again.calls == 0
    assert len(feature_calls(spotify)) == 1
    assert not Song.objects.filter(audio_features_synced_at__isnull=False).exists()
