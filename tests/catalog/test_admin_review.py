"""The admin's review queue: the list, the side-by-side page, accept / reject (one and bulk),
permissions, and a list that costs the same few queries however many songs it shows."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.fake_catalog import track_object
from catalog.enrichment.matching import Candidate, LocalSong, match_song
from catalog.models import MatchStatus, Song, SongMatch
from tests.catalog.factories import SongFactory

pytestmark = pytest.mark.django_db

LIST = "admin:catalog_songreview_changelist"


def _tracks(title: str, artist: str) -> list[dict[str, Any]]:
    return [
        track_object(name=title, artists=[artist], album=f"{title} (Deluxe)",
                     duration_ms=200_000, isrc=f"USAAA{n:07d}", release_date="2001",
                     track_id=None, popularity=50 - n) if n == 0 else
        track_object(name=title, artists=[artist], album=f"{title} (Single)",
                     duration_ms=205_000 + n * 1000, isrc=f"USBBB{n:07d}",
                     release_date=str(2001 + n))
        for n in range(3)
    ]  # fmt: skip


def review_song(title: str = "Halo", artist: str = "Beyoncé", confidence: float = 0.8) -> Song:
    """A song sent to review with the evidence a real run would store."""
    song: Song = SongFactory(title=title, artists=[artist])
    tracks = _tracks(title, artist)
    outcome = match_song(
        LocalSong(title=title, artists=(artist,), album=None, duration_ms=None, isrc=None,
                  year=None),
        search=lambda q: tracks,
    )  # fmt: skip
    assert outcome.status == "needs_review"
    SongMatch.objects.create(
        song=song, status="needs_review", confidence=confidence, evidence=outcome.evidence(),
        decided_at=timezone.now(),
    )  # fmt: skip
    Song.objects.filter(pk=song.pk).update(
        match_status=MatchStatus.NEEDS_REVIEW, match_confidence=confidence
    )
    return song


def test_the_list_shows_songs_to_review_with_their_best_candidate(client, staff_user):
    song = review_song()
    SongFactory(title="Matched already", match_status=MatchStatus.MATCHED)
    client.force_login(staff_user)
    response = client.get(reverse(LIST))
    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [song.pk]
    body = response.content.decode()
    assert "Halo — Beyoncé" in body and "0.80" in body


def test_the_list_has_no_n_plus_1(client, staff_user):
    client.force_login(staff_user)
    review_song("Song A", "Artist A")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse(LIST))
    for n in range(6):
        review_song(f"Song {n}", f"Artist {n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse(LIST))
    assert len(response.context["cl"].result_list) == 7
    assert len(many.captured_queries) == len(few.captured_queries)


def test_filters_by_confidence_band_and_artist(client, staff_user):
    high = review_song("High", "Adele", confidence=0.8)
    low = review_song("Low", "Björk", confidence=0.6)
    client.force_login(staff_user)
    banded = client.get(reverse(LIST), {"confidence": "low"})
    assert [s.pk for s in banded.context["cl"].result_list] == [low.pk]
    artist = high.song_artists.get().artist
    by_artist = client.get(reverse(LIST), {"artists__id__exact": artist.pk})
    assert [s.pk for s in by_artist.context["cl"].result_list] == [high.pk]


def test_the_review_page_puts_candidates_side_by_side(client, staff_user):
    song = review_song()
    client.force_login(staff_user)
    response = client.get(reverse("admin:catalog_songreview_change", args=[song.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    candidates = SongMatch.objects.get(song=song).evidence["candidates"]
    for candidate in candidates:
        assert candidate["spotify_id"] in body
    for label in ("Duration difference", "ISRC agreement", "Score", "Reject all", "Accept"):
        assert label in body


def test_accepting_one_candidate_matches_and_records_who(client, staff_user):
    song = review_song()
    chosen = SongMatch.objects.get(song=song).evidence["candidates"][1]
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:catalog_songreview_change", args=[song.pk]),
        {"accept": chosen["spotify_id"]},
    )
    assert response.status_code == 302
    song.refresh_from_db()
    assert song.spotify_id == chosen["spotify_id"] and song.match_status == "matched"
    match = SongMatch.objects.get(song=song)
    assert match.manual and match.decided_by == staff_user
    assert list(client.get(reverse(LIST)).context["cl"].result_list) == []


def test_rejecting_all(client, staff_user):
    song = review_song()
    client.force_login(staff_user)
    client.post(reverse("admin:catalog_songreview_change", args=[song.pk]), {"reject": "1"})
    match = SongMatch.objects.get(song=song)
    assert match.status == "no_match" and match.manual and match.decided_by == staff_user


def test_bulk_accept_takes_each_best_candidate_and_bulk_reject(client, staff_user):
    first, second, third = (
        review_song("One", "A1"),
        review_song("Two", "A2"),
        review_song("Three", "A3"),
    )
    client.force_login(staff_user)
    client.post(reverse(LIST), {"action": "accept_best", "_selected_action": [first.pk, second.pk]})
    for song in (first, second):
        best = Candidate.from_dict(
            {k: v for k, v in SongMatch.objects.get(song=song).evidence["candidates"][0].items()
             if k in Candidate.__dataclass_fields__}
        )  # fmt: skip
        song.refresh_from_db()
        assert song.spotify_id == best.spotify_id and song.match_status == "matched"
    client.post(reverse(LIST), {"action": "reject_all", "_selected_action": [third.pk]})
    third.refresh_from_db()
    assert third.match_status == "no_match" and third.spotify_id is None


def test_deciding_needs_the_change_permission(client, django_user_model):
    song = review_song()
    viewer = django_user_model.objects.create_user(username="viewer", password="pw-viewer-1",
                                                   is_staff=True)  # fmt: skip
    viewer.user_permissions.add(Permission.objects.get(codename="view_songreview"))
    client.force_login(viewer)
    page = client.get(reverse("admin:catalog_songreview_change", args=[song.pk]))
    assert page.status_code == 200 and "Reject all" not in page.content.decode()
    listing = client.get(reverse(LIST))
    assert "accept_best" not in listing.content.decode()
    best = SongMatch.objects.get(song=song).evidence["candidates"][0]["spotify_id"]
    refused = client.post(
        reverse("admin:catalog_songreview_change", args=[song.pk]), {"accept": best}
    )
    assert refused.status_code == 403
    client.post(reverse(LIST), {"action": "accept_best", "_selected_action": [song.pk]})
    song.refresh_from_db()
    assert song.spotify_id is None and song.match_status == "needs_review"


def test_accepting_a_track_another_song_has_is_refused_with_a_message(client, staff_user):
    song = review_song()
    best = SongMatch.objects.get(song=song).evidence["candidates"][0]["spotify_id"]
    SongFactory(title="Holder", spotify_id=best)
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:catalog_songreview_change", args=[song.pk]), {"accept": best}, follow=True
    )
    assert "another song" in response.content.decode()
    song.refresh_from_db()
    assert song.spotify_id is None and song.match_status == "needs_review"


def test_a_song_put_in_review_by_hand_without_evidence_still_renders(client, staff_user):
    song = SongFactory(title="Hand-made", match_status=MatchStatus.NEEDS_REVIEW)
    client.force_login(staff_user)
    assert client.get(reverse(LIST)).status_code == 200
    page = client.get(reverse("admin:catalog_songreview_change", args=[song.pk]))
    assert page.status_code == 200 and "Reject all" in page.content.decode()
