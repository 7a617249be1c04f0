"""The /spotify/ page: the user's connection, syncs, gaps, playlists and plays; its forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from spotify_integration.models import ConnectionStatus, SpotifyConnection
from sync.models import SyncJob
from tests.library.web.conftest import Library, export_file
from tests.spotify_integration.factories import UserFactory
from tests.spotify_integration.fakes import ISSUED_SECRETS
from tests.sync.factories import SyncJobFactory

PAGE = "/spotify/"


@pytest.fixture
def alice_browser(client, alice: Library) -> Client:
    client.force_login(alice.user)
    return client


def test_the_page_shows_the_library(alice_browser, alice):
    page = alice_browser.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Connected." in html
    assert "29 Nov 2026, 20:05" in html  # plays synced
    assert "29 Nov 2026, 18:00" in html  # playlists synced
    for name in ("A Road Trip", "A Focus", "A Followed Mix"):
        assert name in html
    assert "not readable (followed)" in html
    assert "A Song 0" in html and "A Artist" in html
    assert "from 26 Nov 2026, 18:00 to 26 Nov 2026, 20:00 UTC" in html  # the open gap
    assert "20 Nov 2026" not in html  # the filled one is not listed
    assert 'action="/spotify/sync/"' in html and 'action="/spotify/history/"' in html
    assert "csrfmiddlewaretoken" in html
    assert "about every 15 minutes" in html and "every 6 hours" in html
    for value in ISSUED_SECRETS:
        assert value not in html


def test_the_page_costs_the_same_queries_for_a_bigger_library(client, make_library):
    def queries(library: Library) -> int:
        client.force_login(library.user)
        SyncJobFactory(kind="user_plays_sync", target_user=library.user)
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(PAGE).status_code == 200
        return len(captured)

    # A query per table, not per row: 2 plays and 1 page of them cost what 25 do.
    assert queries(make_library("small", tag="S", plays=2)) == queries(
        make_library("big", tag="G", plays=60)
    )


def test_the_upload_form_over_the_cap(alice_browser, alice, settings):
    settings.LIBRARY_HISTORY_MAX_UPLOAD_BYTES = 200
    upload = export_file([("2026-11-26T19:00:00Z", alice.plays[0].track_id)] * 5)
    response = alice_browser.post("/spotify/history/", {"files": [upload]})
    assert response.status_code == 413 and "files: the upload is over" in response.content.decode()
    assert not SyncJob.objects.exists()


def test_plays_are_paged(alice_browser):
    first = alice_browser.get(PAGE).content.decode()
    assert "page 1 of 3" in first and "29 Nov 2026, 20:00" in first
    third = alice_browser.get(PAGE, {"plays_page": "3"}).content.decode()
    assert "page 3 of 3" in third and "29 Nov 2026, 20:00<" not in third
    assert alice_browser.get(PAGE, {"plays_page": "many"}).status_code == 200


def test_an_expiring_connection_says_when(alice_browser, alice):
    SpotifyConnection.objects.filter(pk=alice.connection.pk).update(
        authorized_at=timezone.now() - timedelta(days=175)
    )
    html = alice_browser.get(PAGE).content.decode()
    assert "Connected, expiring soon." in html and "connect again before then" in html


def test_not_connected_shows_how_to_connect(client, db):
    client.force_login(UserFactory(username="dora"))
    html = client.get(PAGE).content.decode()
    assert "Connect Spotify" in html and 'href="/api/spotify/connect/"' in html
    assert "sync-form" not in html


def test_the_page_needs_sign_in(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and "next=/spotify/" in response["Location"]


def test_sync_now_starts_a_job_and_says_so(alice_browser, alice):
    response = alice_browser.post("/spotify/sync/", {"what": "plays"}, follow=True)
    assert response.redirect_chain == [("/spotify/", 302)]
    assert "Sync of your plays started" in response.content.decode()
    job = SyncJob.objects.get()
    assert (job.kind, job.target_user_id, job.trigger) == (
        "user_plays_sync",
        alice.user.pk,
        "api",
    )
    again = alice_browser.post("/spotify/sync/", {"what": "plays"}, follow=True)
    assert "A sync of your plays is already running." in again.content.decode()
    assert SyncJob.objects.count() == 1


def test_sync_now_refuses_a_bad_what(alice_browser):
    response = alice_browser.post("/spotify/sync/", {"what": "everything"})
    assert response.status_code == 400 and "what:" in response.content.decode()
    assert not SyncJob.objects.exists()


def test_sync_now_says_why_it_cannot(alice_browser, alice):
    SpotifyConnection.objects.filter(pk=alice.connection.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH
    )
    html = alice_browser.post("/spotify/sync/", {"what": "all"}, follow=True).content.decode()
    assert "Not synced: Spotify no longer accepts this connection" in html
    assert "Needs you to connect again." in html
    assert not SyncJob.objects.exists()


def test_sync_now_without_the_scope_says_so_and_starts_nothing(alice_browser, alice):
    # The same rule as the API's 403 spotify_scope_missing: a job could only fail at Spotify
    SpotifyConnection.objects.filter(pk=alice.connection.pk).update(
        granted_scopes=["user-read-private"]
    )
    html = alice_browser.post("/spotify/sync/", {"what": "plays"}, follow=True).content.decode()
    assert "Not synced: Your Spotify connection lacks permissions" in html
    assert not SyncJob.objects.exists()


def test_forms_are_csrf_protected(alice):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice.user)
    assert strict.post("/spotify/sync/", {"what": "plays"}).status_code == 403
    assert strict.post(PAGE, {"action": "disconnect"}).status_code == 403
    assert not SyncJob.objects.exists()
    assert SpotifyConnection.objects.filter(pk=alice.connection.pk).exists()


def test_the_upload_form_starts_the_import(alice_browser, alice):
    upload = export_file([("2026-11-26T19:00:00Z", alice.plays[0].track_id)])
    response = alice_browser.post("/spotify/history/", {"files": [upload]}, follow=True)
    assert response.redirect_chain == [("/spotify/", 302)]
    assert "Your streaming history is being imported" in response.content.decode()
    assert SyncJob.objects.get().kind == "user_history_import"


def test_the_upload_form_names_a_bad_file(alice_browser):
    bad = export_file([("yesterday", "x")], name="Streaming_History_Audio_2020.json")
    response = alice_browser.post("/spotify/history/", {"files": [bad]})
    assert response.status_code == 400
    assert "Streaming_History_Audio_2020.json" in response.content.decode()
    assert not SyncJob.objects.exists()


def test_the_upload_form_without_a_file(alice_browser):
    response = alice_browser.post("/spotify/history/", {})
    assert response.status_code == 400 and "files:" in response.content.decode()


def test_disconnect_deletes_the_library_and_says_so(alice_browser, alice):
    response = alice_browser.post(PAGE, {"action": "disconnect"}, follow=True)
    html = response.content.decode()
    assert "your playlists, plays and gaps stored here are deleted" in html
    assert not SpotifyConnection.objects.filter(pk=alice.connection.pk).exists()
    assert not alice.playlists[0].__class__.objects.filter(connection_id=alice.connection.pk)
