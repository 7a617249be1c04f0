"""The admin: connections with their library's state, filters, sync actions; read-only rows."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from library.models import LibrarySyncState
from spotify_integration.models import ConnectionStatus, SpotifyConnection
from sync.models import SyncJob
from tests.spotify_integration.factories import UserFactory
from tests.spotify_integration.fakes import ISSUED_SECRETS

CONNECTIONS = "/admin/spotify_integration/spotifyconnection/"


def test_connections_list_the_library_state_without_tokens(client, staff_user, alice, bob):
    LibrarySyncState.objects.filter(connection=bob.connection).update(
        plays_error="Spotify is unavailable right now."
    )
    client.force_login(staff_user)
    html = client.get(CONNECTIONS).content.decode()
    for header in ("Health", "Plays synced", "Playlists synced", "Last error", "Open gaps"):
        assert header in html
    assert "plays: Spotify is unavailable right now." in html
    assert '<td class="field-plays_count">60</td>' in html
    assert '<td class="field-plays_count">3</td>' in html
    assert '<td class="field-open_gaps_count">1</td>' in html
    for value in ISSUED_SECRETS:
        assert value not in html
    assert alice.connection.refresh_token_encrypted not in html and "gAAAAA" not in html
    change = client.get(f"{CONNECTIONS}{alice.connection.pk}/change/").content.decode()
    assert "Open gaps" in change and "gAAAAA" not in change


def test_the_list_costs_the_same_queries_for_more_connections(
    client, staff_user, make_library, alice
):
    client.force_login(staff_user)

    def queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(CONNECTIONS).status_code == 200
        return len(captured)

    few = queries()
    for n in range(4):
        make_library(f"listener{n}", tag=f"L{n}", plays=2)
    assert queries() == few


def test_filters_answer_the_operators_questions(client, staff_user, make_library):
    healthy = make_library("healthy", tag="H", plays=1)
    reauth = make_library("reauth", tag="R", plays=1)
    expiring = make_library("expiring", tag="E", plays=1)
    expired = make_library("expired", tag="X", plays=1)
    failing = make_library("failing", tag="F", plays=1)
    SpotifyConnection.objects.filter(pk=reauth.connection.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH
    )
    now = timezone.now()
    SpotifyConnection.objects.filter(pk=expiring.connection.pk).update(
        authorized_at=now - timedelta(days=176)
    )
    SpotifyConnection.objects.filter(pk=expired.connection.pk).update(
        authorized_at=now - timedelta(days=200)
    )
    LibrarySyncState.objects.filter(connection=failing.connection).update(
        playlists_error="Spotify refused the request."
    )
    client.force_login(staff_user)

    def listed(health: str) -> set[str]:
        html = client.get(CONNECTIONS, {"health": health}).content.decode()
        return {
            name
            for name in ("healthy", "reauth", "expiring", "expired", "failing")
            if f"acct-{name}<" in html
        }

    assert listed("needs_reauth") == {"reauth"}
    assert listed("expiring") == {"expiring"}
    assert listed("expired") == {"expired"}
    assert listed("failing") == {"failing"}
    assert healthy.connection.pk  # listed by none of them


def test_sync_actions_go_through_request_sync(client, staff_user, alice, bob):
    SpotifyConnection.objects.filter(pk=bob.connection.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH
    )
    client.force_login(staff_user)
    response = client.post(
        CONNECTIONS,
        {"action": "sync_plays_now", "_selected_action": [alice.connection.pk, bob.connection.pk]},
        follow=True,
    )
    html = response.content.decode()
    job = SyncJob.objects.get()
    assert (job.kind, job.target_user_id, job.trigger) == (
        "user_plays_sync",
        alice.user.pk,
        "admin",
    )
    assert f"plays sync job #{job.pk} (pending)" in html
    assert "not synced: Spotify no longer accepts this connection" in html

    client.post(
        CONNECTIONS,
        {"action": "sync_playlists_now", "_selected_action": [alice.connection.pk]},
    )
    assert set(SyncJob.objects.values_list("kind", flat=True)) == {
        "user_plays_sync",
        "user_playlists_sync",
    }


def test_view_only_staff_get_no_sync_actions(client, alice):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_spotifyconnection"))
    client.force_login(viewer)
    html = client.get(CONNECTIONS).content.decode()
    assert "sync_plays_now" not in html
    client.post(
        CONNECTIONS, {"action": "sync_plays_now", "_selected_action": [alice.connection.pk]}
    )
    assert not SyncJob.objects.exists()


def test_playlists_and_plays_are_read_only_and_searchable(client, staff_user, alice, bob):
    client.force_login(staff_user)
    found = client.get("/admin/library/playlist/", {"q": "Road Trip"}).content.decode()
    assert "A Road Trip" in found and "B Road Trip" in found and "A Focus" not in found
    page = client.get(f"/admin/library/playlist/{alice.playlists[0].pk}/change/").content.decode()
    assert "A Song 0" in page and 'name="_save"' not in page
    assert client.get("/admin/library/playlist/add/").status_code == 403
    plays = client.get("/admin/library/play/", {"q": "B Song"}).content.decode()
    assert "B Song 0" in plays and "A Song 0" not in plays
    assert client.get(f"/admin/library/play/{alice.plays[0].pk}/delete/").status_code == 403
    assert client.get("/admin/library/playgap/").status_code == 200


def test_staff_import_a_users_history(client, staff_user, alice):
    from tests.library.web.conftest import export_file

    client.force_login(staff_user)
    change = client.get(f"{CONNECTIONS}{alice.connection.pk}/change/").content.decode()
    url = f"{CONNECTIONS}{alice.connection.pk}/history/"
    assert url in change
    assert client.get(url).status_code == 200
    bad = export_file([("yesterday", "x")], name="Streaming_History_Audio_2018.json")
    refused = client.post(url, {"history_files": [bad]})
    assert refused.status_code == 200
    assert "Streaming_History_Audio_2018.json" in refused.content.decode()
    assert not SyncJob.objects.exists()
    good = export_file([("2026-11-26T19:00:00Z", alice.plays[0].track_id)])
    response = client.post(url, {"history_files": [good]})
    job = SyncJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/change/")
    assert (job.kind, job.target_user_id, job.trigger, job.triggered_by_id) == (
        "user_history_import",
        alice.user.pk,
        "admin",
        staff_user.pk,
    )


def test_view_only_staff_cannot_import_history(client, alice):
    viewer = UserFactory(username="viewer2", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_spotifyconnection"))
    client.force_login(viewer)
    assert client.get(f"{CONNECTIONS}{alice.connection.pk}/history/").status_code == 403
