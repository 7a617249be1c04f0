"""The search page at / without a browser: the server-rendered results (JavaScript off)."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from catalog.templatetags.catalog_page import artist_names, duration

pytestmark = pytest.mark.django_db


def test_front_door_is_the_search_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Encore: search songs</title>" in html
    assert '<label for="q">Search songs</label>' in html
    assert 'method="get" action="/"' in html
    assert "Type a song title, an artist or an album to start." in html
    assert "/static/catalog/search.js" in html
    assert "Admin" not in html and "/api/docs/" not in html  # staff links for staff only


def test_form_get_renders_the_results_server_side(client, demo_catalog):
    response = client.get("/", {"q": "bohemain rapsody"})
    assert response.status_code == 200
    html = response.content.decode()
    first = html[html.index('id="result-0"') :]
    assert first.index('<span class="title">Bohemian Rhapsody</span>') < first.find("</li>")
    assert 'class="artists">Queen<' in html
    assert "1 result for “bohemain rapsody”" in html
    assert 'value="bohemain rapsody"' in html
    assert "<title>bohemain rapsody · Encore: search songs</title>" in html
    assert "from Spotify" not in html  # local results carry no badge
    assert 'id="spotify-note" class="note" role="status" hidden' in html


def test_the_page_and_the_api_agree_on_the_first_results(client, demo_catalog):
    api = client.get("/api/songs/search/", {"q": "queen", "limit": 20}).json()
    html = client.get("/", {"q": "queen"}).content.decode()
    titles = [hit["song"]["title"] for hit in api["results"]]
    positions = [html.index(f'<span class="title">{escape(t)}</span>') for t in titles[:5]]
    assert positions == sorted(positions)


def test_no_match_shows_the_empty_state(client, demo_catalog):
    html = client.get("/", {"q": "zzzqqxv"}).content.decode()
    assert "No songs match “zzzqqxv”" in html
    assert 'id="result-0"' not in html


@pytest.mark.parametrize("q", ["", "   "])
def test_a_blank_query_is_the_empty_page(client, q):
    response = client.get("/", {"q": q})
    assert response.status_code == 200
    assert "Type a song title, an artist or an album to start." in response.content.decode()


@pytest.mark.parametrize(
    ("q", "message"),
    [("x" * 201, "no more than 200 characters"), ("a\x00b", "Null characters are not allowed")],
)
def test_bad_input_gets_a_clear_message_not_a_500(client, q, message):
    response = client.get("/", {"q": q})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error" role="alert">Search: ' in html
    assert message in html


def test_a_bad_spotify_mode_gets_a_clear_message(client):
    response = client.get("/", {"q": "queen", "spotify": "sometimes"})
    assert response.status_code == 400
    assert "spotify: " in response.content.decode()


def test_spotify_never_keeps_the_page_local(client, demo_catalog, settings):
    settings.SEARCH_SPOTIFY_DEFAULT = "always"
    html = client.get("/", {"q": "waterloo", "spotify": "never"}).content.decode()
    assert '<span class="title">Waterloo</span>' in html
    assert "from Spotify" not in html


def test_only_get_and_head_are_allowed(client):
    assert client.head("/").status_code == 200
    assert client.post("/", {"q": "queen"}).status_code == 405


def test_staff_see_links_to_the_admin_and_the_api_docs(client, staff_user):
    client.force_login(staff_user)
    html = client.get("/").content.decode()
    assert 'href="/admin/">Admin</a>' in html
    assert 'href="/api/docs/">API docs</a>' in html


def test_spotify_results_carry_the_badge_and_the_link(client, monkeypatch):
    # The template reads the hybrid response: a Spotify-only hit and a Spotify status.
    from catalog import pages

    hit = {
        "source": "spotify",
        "in_catalog": False,
        "score": 1.0,
        "song": {
            "id": None,
            "title": "Only On Spotify",
            "artists": [{"id": None, "name": "Someone", "spotify_id": "a1"}],
            "album": {"id": None, "title": "Elsewhere", "spotify_id": "b1"},
            "release_year": 2024,
            "duration_ms": 61_400,
            "spotify": {"url": "https://open.spotify.com/track/abc"},
        },
    }
    data = {"total": 1, "total_is_exact": True, "results": [hit]}
    monkeypatch.setattr(pages, "hybrid_search", lambda **kw: None)
    monkeypatch.setattr(pages, "hybrid_response_data", lambda result: data)
    html = client.get("/", {"q": "only on spotify"}).content.decode()
    assert '<span class="badge">from Spotify</span>' in html
    assert 'href="https://open.spotify.com/track/abc"' in html
    assert 'class="duration">1:01<' in html
    assert 'data-href="https://open.spotify.com/track/abc"' in html
    assert 'id="spotify-note" class="note" role="status" hidden' in html

    data["sources"] = {"spotify": {"status": "timeout"}}
    html = client.get("/", {"q": "only on spotify"}).content.decode()
    assert 'id="spotify-note" class="note" role="status">Spotify unavailable' in html


@pytest.mark.parametrize(
    ("ms", "text"), [(354_000, "5:54"), (59_499, "0:59"), (59_500, "1:00"), (None, "")]
)
def test_duration_is_minutes_and_seconds(ms, text):
    assert duration(ms) == text


def test_artist_names_joins_the_names():
    assert artist_names([{"name": "Queen"}, {"name": "David Bowie"}]) == "Queen, David Bowie"
    assert artist_names(None) == ""
