"""The match service and the review decisions: what they write, what they never overwrite.
Spotify is mocked at the wire; its search answers from a small spec-valid catalog."""

from __future__ import annotations

from typing import Any

import pytest

from bench.fake_catalog import track_object
from catalog.enrichment.match import song_match, song_match_accept, song_match_reject
from catalog.models import Artist, MatchStatus, Song, SongMatch
from core.exceptions import Conflict, ValidationFailed
from spotify_integration.client import SpotifyClient
from tests.catalog.factories import AlbumFactory, ArtistFactory, SongFactory

pytestmark = pytest.mark.django_db

HALO = track_object(
    name="Halo", artists=["Beyoncé"], album="I Am... Sasha Fierce", duration_ms=261_640,
    isrc="USSM10804556", release_date="2008-11-14", preview_url="https://p.scdn.co/mp3-preview/h",
)  # fmt: skip
HALO_SINGLE = track_object(
    name="Halo", artists=["Beyoncé"], album="Halo", duration_ms=250_000,
    isrc="USSM10899999", release_date="2009",
)  # fmt: skip


def halo_song(**kwargs: Any) -> Song:
    defaults: dict[str, Any] = {
        "title": "Halo", "artists": ["Beyoncé"], "duration_ms": 261_000,
        "album": AlbumFactory(title="I Am... Sasha Fierce", main_artist_name="Beyoncé"),
    }  # fmt: skip
    song: Song = SongFactory(**{**defaults, **kwargs})
    return song


def test_a_match_writes_the_song_its_artist_and_album_and_the_evidence(spotify_catalog):
    asked = spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song()
    outcome = song_match(song=song, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "matched"
    song.refresh_from_db()
    assert song.spotify_id == HALO["id"] and song.spotify_uri == HALO["uri"]
    assert song.isrc == "USSM10804556"  # the song had none
    assert song.preview_url == HALO["preview_url"]
    assert song.album_image_url == HALO["album"]["images"][0]["url"]
    assert song.spotify_synced_at is not None
    assert song.match_status == MatchStatus.MATCHED and song.match_confidence >= 0.85
    assert song.album is not None and song.album.spotify_id == HALO["album"]["id"]
    assert Artist.objects.get(name="Beyoncé").spotify_id == HALO["artists"][0]["id"]
    match = SongMatch.objects.get(song=song)
    assert match.status == "matched" and not match.manual and match.decided_by is None
    assert match.evidence["queries"] == asked
    assert match.evidence["candidates"][0]["spotify_id"] == HALO["id"]
    assert match.evidence["candidates"][0]["isrc_agrees"] is None  # the song had no ISRC


def test_running_twice_leaves_the_same_rows(spotify_catalog):
    spotify_catalog(HALO)
    song = halo_song(isrc="USSM10804556")
    client = SpotifyClient.for_app()
    song_match(song=song, client=client)
    first = Song.objects.values().get(pk=song.pk)
    song_match(song=song, client=client)
    again = Song.objects.values().get(pk=song.pk)
    assert {k: v for k, v in again.items() if not k.endswith("_at")} == {
        k: v for k, v in first.items() if not k.endswith("_at")
    }
    assert SongMatch.objects.filter(song=song).count() == 1


def test_a_song_decided_by_a_person_is_not_searched(spotify_catalog, staff_user):
    asked = spotify_catalog(HALO)
    song = halo_song()
    song_match_reject(song=song, user=staff_user)
    assert song_match(song=song, client=SpotifyClient.for_app()) is None
    assert asked == []
    song.refresh_from_db()
    assert song.match_status == MatchStatus.NO_MATCH and song.spotify_id is None


def test_a_track_another_song_has_goes_to_review(spotify_catalog):
    spotify_catalog(HALO)
    holder = SongFactory(title="Halo (duplicate)", spotify_id=HALO["id"])
    song = halo_song()
    outcome = song_match(song=song, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "needs_review"
    song.refresh_from_db()
    assert song.spotify_id is None and song.match_status == MatchStatus.NEEDS_REVIEW
    notes = SongMatch.objects.get(song=song).evidence["notes"]
    assert notes == [f"another song (#{holder.pk}) has the Spotify id {HALO['id']}"]


def test_an_artist_id_another_artist_holds_is_not_taken(spotify_catalog):
    spotify_catalog(HALO)
    ArtistFactory(name="Beyonce Knowles", spotify_id=HALO["artists"][0]["id"])
    song = halo_song(isrc="USSM10804556")
    song_match(song=song, client=SpotifyClient.for_app())
    song.refresh_from_db()
    assert song.spotify_id == HALO["id"]
    assert Artist.objects.get(name="Beyoncé").spotify_id is None


def test_an_ambiguous_song_is_sent_to_review_without_spotify_fields(spotify_catalog):
    spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song(album=None, duration_ms=None)
    outcome = song_match(song=song, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "needs_review"
    song.refresh_from_db()
    assert song.spotify_id is None and song.match_status == MatchStatus.NEEDS_REVIEW
    assert len(SongMatch.objects.get(song=song).evidence["candidates"]) == 2


def test_thresholds_come_from_settings(spotify_catalog, settings):
    spotify_catalog(HALO)
    settings.SPOTIFY_MATCH_ACCEPT = 0.9999
    song = halo_song(duration_ms=265_000)
    outcome = song_match(song=song, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "needs_review"
    assert SongMatch.objects.get(song=song).evidence["thresholds"]["accept"] == 0.9999


def test_nothing_found_is_no_match(spotify_catalog):
    asked = spotify_catalog()
    song = halo_song(title="Unreleased Demo Tape", isrc="USXXX0000001")
    outcome = song_match(song=song, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "no_match"
    assert len(asked) == 3  # ISRC, strict with the album, strict without it
    song.refresh_from_db()
    assert song.match_status == MatchStatus.NO_MATCH and song.spotify_synced_at is None


def test_accepting_a_candidate_writes_like_a_match_and_records_who(spotify_catalog, staff_user):
    spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song(album=None, duration_ms=None)
    song_match(song=song, client=SpotifyClient.for_app())
    song_match_accept(song=song, spotify_id=HALO_SINGLE["id"], user=staff_user)
    song.refresh_from_db()
    assert song.spotify_id == HALO_SINGLE["id"] and song.isrc == "USSM10899999"
    assert song.match_status == MatchStatus.MATCHED
    match = SongMatch.objects.get(song=song)
    assert match.manual and match.decided_by == staff_user and match.status == "matched"
    assert match.evidence["decision"] == {"accepted": HALO_SINGLE["id"], "by": "operator"}
    assert song_match(song=song, client=SpotifyClient.for_app()) is None  # stays as decided


def test_accepting_refuses_an_unknown_candidate_or_a_taken_track(spotify_catalog, staff_user):
    spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song(album=None, duration_ms=None)
    song_match(song=song, client=SpotifyClient.for_app())
    with pytest.raises(ValidationFailed):
        song_match_accept(song=song, spotify_id="0" * 22, user=staff_user)
    SongFactory(title="Other", spotify_id=HALO["id"])
    with pytest.raises(Conflict):
        song_match_accept(song=song, spotify_id=HALO["id"], user=staff_user)
    song.refresh_from_db()
    assert song.spotify_id is None and song.match_status == MatchStatus.NEEDS_REVIEW


def test_rejecting_records_a_manual_no_match(spotify_catalog, staff_user):
    spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song(album=None, duration_ms=None)
    song_match(song=song, client=SpotifyClient.for_app())
    song_match_reject(song=song, user=staff_user)
    match = SongMatch.objects.get(song=song)
    assert match.status == "no_match" and match.manual and match.decided_by == staff_user
    assert len(match.evidence["candidates"]) == 2  # the evidence is kept
    song.refresh_from_db()
    assert song.match_status == MatchStatus.NO_MATCH and song.match_confidence is None


def test_the_local_song_is_read_from_the_row_in_credit_order():
    from catalog.enrichment.matching import LocalSong

    album = AlbumFactory(title="Hot Space", main_artist_name="Queen", release_year=1982)
    row = SongFactory(title="Under Pressure", artists=["Queen", "David Bowie"], album=album,
                      duration_ms=248_000, isrc="gbum71029605")  # fmt: skip
    local = LocalSong.from_song(
        Song.objects.prefetch_related("song_artists__artist").get(pk=row.pk)
    )
    assert local == LocalSong(title="Under Pressure", artists=("Queen", "David Bowie"),
                              album="Hot Space", duration_ms=248_000, isrc="GBUM71029605",
                              year=1982)  # fmt: skip


def test_a_song_with_another_spotify_id_goes_to_review_unless_that_track_is_gone(
    spotify_catalog,
):
    spotify_catalog(HALO)
    imported = halo_song(spotify_id="4u7EnebtmKWzUH433cf5Qv", isrc="USSM10804556")
    outcome = song_match(song=imported, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "needs_review"
    imported.refresh_from_db()
    assert imported.spotify_id == "4u7EnebtmKWzUH433cf5Qv"
    Song.objects.filter(pk=imported.pk).update(match_status=MatchStatus.GONE)
    imported.refresh_from_db()
    outcome = song_match(song=imported, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "matched"
    imported.refresh_from_db()
    assert imported.spotify_id == HALO["id"] and imported.match_status == MatchStatus.MATCHED


def test_a_gone_song_sent_to_review_can_still_be_accepted(spotify_catalog, staff_user):
    # Given a song whose Spotify track is gone, and a search that finds two candidates
    spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song(album=None, duration_ms=None, spotify_id="4u7EnebtmKWzUH433cf5Qv")
    Song.objects.filter(pk=song.pk).update(match_status=MatchStatus.GONE)
    song.refresh_from_db()
    # When the automatic run cannot decide, the song goes to review (its status is no
    # longer "gone") with the gone track's id kept as it was
    outcome = song_match(song=song, client=SpotifyClient.for_app())
    assert outcome is not None and outcome.status == "needs_review"
    song.refresh_from_db()
    assert song.match_status == MatchStatus.NEEDS_REVIEW
    assert song.spotify_id == "4u7EnebtmKWzUH433cf5Qv"
    # Then a person may still accept a candidate in place of the gone track
    song_match_accept(song=song, spotify_id=HALO["id"], user=staff_user)
    song.refresh_from_db()
    assert song.spotify_id == HALO["id"] and song.match_status == MatchStatus.MATCHED


def test_a_song_with_another_live_spotify_id_cannot_be_accepted_over_it(
    spotify_catalog, staff_user
):
    spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song(album=None, duration_ms=None, spotify_id="4u7EnebtmKWzUH433cf5Qv")
    song_match(song=song, client=SpotifyClient.for_app())
    with pytest.raises(Conflict):
        song_match_accept(song=song, spotify_id=HALO["id"], user=staff_user)
    song.refresh_from_db()
    assert song.spotify_id == "4u7EnebtmKWzUH433cf5Qv"


def _decisions(outcome: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    from core.metrics import metrics_exposition

    body, _ = metrics_exposition()
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name.startswith("encore_match_decisions")
        and sample.labels.get("outcome") == outcome
    )


def test_each_decision_is_counted_in_the_metrics(spotify_catalog):
    spotify_catalog(HALO, HALO_SINGLE)
    before = _decisions("matched")
    song_match(song=halo_song(), client=SpotifyClient.for_app())
    assert _decisions("matched") == before + 1


def test_rejecting_unlinks_a_rejected_track_an_earlier_run_gave_the_song(
    spotify_catalog, staff_user
):
    # Given a song an automatic run linked to a track, and later sent to review
    spotify_catalog(HALO, HALO_SINGLE)
    song = halo_song(album=None, duration_ms=None, spotify_id=HALO["id"])
    SongMatch.objects.create(
        song=song, status="needs_review", decided_at=song.created_at,
        evidence={"candidates": [{"spotify_id": HALO["id"]}, {"spotify_id": HALO_SINGLE["id"]}]},
    )  # fmt: skip
    # When a person rejects every candidate
    song_match_reject(song=song, user=staff_user)
    # Then the song no longer links to the rejected track, and the evidence says it did
    song.refresh_from_db()
    assert song.spotify_id is None and song.spotify_uri is None
    assert SongMatch.objects.get(song=song).evidence["unlinked_spotify_id"] == HALO["id"]


def test_a_spotify_id_another_source_gave_is_kept_on_reject(spotify_catalog, staff_user):
    song = halo_song(spotify_id="1" * 22)
    SongMatch.objects.create(
        song=song, status="needs_review", decided_at=song.created_at,
        evidence={"candidates": [{"spotify_id": HALO["id"]}]},
    )  # fmt: skip
    song_match_reject(song=song, user=staff_user)
    song.refresh_from_db()
    assert song.spotify_id == "1" * 22
