"""The search page with Spotify: its results badged, and the page when Spotify is down."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.loopback, pytest.mark.django_db(transaction=True)]


def test_a_spotify_only_hit_carries_the_badge_and_the_link(
    page, demo_catalog, fake_spotify, screenshot
):
    page.goto("/")
    page.get_by_label("Search songs").press_sequentially("zyxophone nights", delay=20)
    first = page.locator("#result-0")
    first.locator(".badge").wait_for()
    assert first.locator(".title").inner_text() == "Zyxophone Nights"
    assert first.locator(".badge").inner_text() == "from Spotify"
    assert first.locator(".artists").inner_text() == "Quillon Varga"
    assert first.locator(".album").inner_text() == "Glass Harbour"
    assert first.locator(".year").inner_text() == "2024"
    assert first.locator(".duration").inner_text() == "3:21"
    link = first.locator("a.spotify-link")
    assert link.get_attribute("href").startswith("https://open.spotify.com/track/")
    assert page.locator("#spotify-note").is_hidden()
    assert fake_spotify.calls["GET /search"] >= 1
    screenshot("spotify-badge")


def test_local_hits_carry_no_badge_beside_spotify(page, demo_catalog, fake_spotify):
    page.goto("/?q=bohemian+rhapsody")
    assert page.locator("#result-0 .title").inner_text() == "Bohemian Rhapsody"
    assert page.locator("#result-0 .badge").count() == 0


def test_the_page_works_with_spotify_down(page, demo_catalog, spotify_down, screenshot):
    page.goto("/")
    page.get_by_label("Search songs").press_sequentially("bohemain rapsody", delay=20)
    page.locator("#spotify-note").wait_for(state="visible")
    assert page.locator("#spotify-note").inner_text() == (
        "Spotify unavailable, showing local results."
    )
    assert page.locator("#result-0 .title").inner_text() == "Bohemian Rhapsody"
    screenshot("spotify-down")
    # Without JavaScript's help too: the server-rendered page says the same.
    page.goto("/?q=bohemain+rapsody")
    assert page.locator("#spotify-note").is_visible()
    assert page.locator("#result-0 .title").inner_text() == "Bohemian Rhapsody"
