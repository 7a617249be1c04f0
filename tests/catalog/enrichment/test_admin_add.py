"""The song admin's "Add from Spotify" page (Spotify at the wire)."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog.models import Song, SongMatch
from tests.catalog.enrichment.wire import serve_tracks, spotify_id
from tests.spotify_integration.fakes import API, error_body

PAGE = "admin:catalog_song_add_from_spotify"
TRACK = spotify_id(7)


@pytest.fixture
def served(spotify, db):
    serve_tracks(spotify, missing={spotify_id(404)})
    return spotify


def test_the_changelist_links_to_the_page_for_who_may_add(client, staff_user):
    client.force_login(staff_user)

    page = client.get(reverse("admin:catalog_song_changelist"))

    assert reverse(PAGE).encode() in page.content


@pytest.mark.parametrize(
    "pasted",
    [TRACK, f"spotify:track:{TRACK}", f"https://open.spotify.com/intl-de/track/{TRACK}?si=x1"],
)
def test_a_pasted_id_uri_or_link_adds_the_song_and_says_so(served, client, staff_user, pasted):
    client.force_login(staff_user)

    response = client.post(reverse(PAGE), {"track": pasted}, follow=True)

    song = Song.objects.get(spotify_id=TRACK)
    assert response.redirect_chain[-1][0] == reverse("admin:catalog_song_change", args=[song.pk])
    assert [str(m) for m in response.context["messages"]] == [
        "Added from Spotify: “Bohemian Rhapsody” by Queen."
    ]
    assert SongMatch.objects.get(song=song).decided_by == staff_user


def test_adding_a_song_already_there_says_so(served, client, staff_user):
    client.force_login(staff_user)
    client.post(reverse(PAGE), {"track": TRACK})

    response = client.post(reverse(PAGE), {"track": TRACK}, follow=True)

    assert Song.objects.count() == 1
    assert "Already in the catalog" in str(list(response.context["messages"])[-1])


def test_what_is_not_a_track_or_unknown_to_spotify_shows_the_form_again(served, client, staff_user):
    client.force_login(staff_user)

    malformed = client.post(reverse(PAGE), {"track": "https://example.com/x"})
    unknown = client.post(reverse(PAGE), {"track": spotify_id(404)})

    assert malformed.status_code == unknown.status_code == 200
    assert "Not a Spotify track id, URI or link." in malformed.content.decode()
    assert "Spotify: Spotify has no such item." in unknown.content.decode()
    assert not Song.objects.exists()


def test_a_rate_limit_says_when_to_try_again(spotify, client, staff_user):
    spotify.token()
    spotify.api(
        responses.GET, "/tracks/{id}", path=f"tracks/{TRACK}", status=429,
        body=error_body(429, "API rate limit exceeded"), headers={"Retry-After": "7"},
    )  # fmt: skip
    client.force_login(staff_user)

    response = client.post(reverse(PAGE), {"track": TRACK})

    assert response.status_code == 200
    assert "Try again in" in response.content.decode()
    assert len(spotify.calls_to(API + "tracks/")) == 1


def test_staff_without_catalog_add_song_may_not(served, client, django_user_model):
    viewer = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_song"))
    client.force_login(viewer)

    changelist = client.get(reverse("admin:catalog_song_changelist"))
    page = client.get(reverse(PAGE))
    posted = client.post(reverse(PAGE), {"track": TRACK})

    assert changelist.status_code == 200 and reverse(PAGE).encode() not in changelist.content
    assert page.status_code == posted.status_code == 403
    assert not Song.objects.exists()

    viewer.user_permissions.add(Permission.objects.get(codename="add_song"))
    assert client.post(reverse(PAGE), {"track": TRACK}).status_code == 302
