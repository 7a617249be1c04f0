"""What the song API, its schema and the admin show of enrichment: match status, confidence,
the Spotify link, when the fields were synced, and whether the track is gone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from catalog.models import MatchStatus
from tests.catalog.factories import SongFactory

pytestmark = pytest.mark.django_db
SYNCED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_song_api_shows_match_and_spotify_link(api_client):
    matched = SongFactory(
        spotify_id="4u7EnebtmKWzUH433cf5Qv", match_status=MatchStatus.MATCHED,
        match_confidence=0.97, spotify_synced_at=SYNCED,
    )  # fmt: skip
    gone = SongFactory(spotify_id="7tFiyTwD0nx5a1eklYtX2J", match_status=MatchStatus.GONE)
    local = SongFactory()

    body = api_client.get(f"/api/songs/{matched.pk}/").json()
    assert (body["match_status"], body["match_confidence"]) == ("matched", 0.97)
    assert body["spotify"]["url"] == "https://open.spotify.com/track/4u7EnebtmKWzUH433cf5Qv"
    assert body["spotify"]["synced_at"] == "2026-11-01T12:00:00Z"
    assert body["spotify"]["gone"] is False
    gone_body = api_client.get(f"/api/songs/{gone.pk}/").json()
    assert gone_body["spotify"]["gone"] is True and gone_body["match_status"] == "gone"
    local_body = api_client.get(f"/api/songs/{local.pk}/").json()
    assert local_body["spotify"]["url"] is None and local_body["match_status"] == "unmatched"
    listed = api_client.get("/api/songs/", {"match_status": "gone"}).json()["results"]
    assert [s["id"] for s in listed] == [gone.pk]


def test_the_schema_documents_the_enrichment_fields(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    spotify = schema["components"]["schemas"]["SpotifyFields"]["properties"]
    assert spotify["url"]["format"] == "uri" and spotify["url"]["nullable"] is True
    assert spotify["gone"]["type"] == "boolean" and "404" in spotify["gone"]["description"]
    assert "synced_at" in spotify
    song = schema["components"]["schemas"]["Song"]["properties"]
    assert {"match_status", "match_confidence"} <= set(song)


def test_admin_lists_status_confidence_link_and_gone(client, staff_user):
    client.force_login(staff_user)
    SongFactory(
        title="Still There", spotify_id="4u7EnebtmKWzUH433cf5Qv",
        match_status=MatchStatus.MATCHED, match_confidence=0.91, spotify_synced_at=SYNCED,
    )  # fmt: skip
    gone = SongFactory(
        title="Taken Down", spotify_id="7tFiyTwD0nx5a1eklYtX2J", match_status=MatchStatus.GONE
    )
    page = client.get(reverse("admin:catalog_song_changelist")).content.decode()
    assert 'href="https://open.spotify.com/track/4u7EnebtmKWzUH433cf5Qv"' in page
    assert "(gone from Spotify)" in page and "0.91" in page
    filtered = client.get(reverse("admin:catalog_song_changelist"), {"match_status": "gone"})
    assert "Taken Down" in filtered.content.decode()
    assert "Still There" not in filtered.content.decode()
    detail = client.get(reverse("admin:catalog_song_change", args=[gone.pk])).content.decode()
    assert "https://open.spotify.com/track/7tFiyTwD0nx5a1eklYtX2J" in detail
