"""The search page at / in a real browser: typing, keyboard, the URL and Back."""

from __future__ import annotations

import re

import pytest

from catalog.models import Song

pytestmark = [pytest.mark.browser, pytest.mark.loopback, pytest.mark.django_db(transaction=True)]

FIRST_TITLE = "#result-0 .title"


def test_typing_a_query_with_a_typo_shows_the_right_song_first(page, demo_catalog, screenshot):
    Song.objects.filter(title="Bohemian Rhapsody").update(duration_ms=354_000)
    page.goto("/")
    page.get_by_label("Search songs").press_sequentially("bohemain rapsody", delay=20)
    page.wait_for_function(
        "document.querySelector('#result-0 .title')?.textContent === 'Bohemian Rhapsody'"
    )
    assert page.locator("#result-0 .artists").inner_text() == "Queen"
    assert page.locator("#result-0 .duration").inner_text() == "5:54"
    assert page.locator("#result-0 .year").inner_text() == "1975"
    assert "result" in page.locator("#status").inner_text()
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    assert page.locator("#spotify-note").is_hidden()
    screenshot("typo-first-result")


def test_no_match_shows_the_empty_state(page, demo_catalog, screenshot):
    page.goto("/")
    page.get_by_label("Search songs").fill("zzzqqxv")
    page.wait_for_selector("#empty:has-text('No songs match')")
    assert page.locator(".result").count() == 0
    screenshot("empty-state")


def test_keyboard_moves_through_results_enter_opens_and_escape_clears(page, demo_catalog):
    page.goto("/?q=queen")
    box = page.get_by_label("Search songs")
    box.focus()
    assert page.locator(".result").count() >= 2  # server-rendered, JavaScript takes over
    box.press("ArrowDown")
    assert page.locator("#result-0").get_attribute("aria-selected") == "true"
    box.press("ArrowDown")
    assert page.locator("#result-1").get_attribute("aria-selected") == "true"
    assert page.locator("#result-0").get_attribute("aria-selected") == "false"
    assert box.get_attribute("aria-activedescendant") == "result-1"
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == "result-0"
    href = page.locator("#result-0").get_attribute("data-href")
    assert href
    box.press("Enter")
    page.wait_for_url(f"**{href}")
    page.go_back()
    page.get_by_label("Search songs").press("Escape")
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_label("Search songs").input_value() == ""
    assert page.locator(".result").count() == 0


def test_the_url_carries_the_query_and_back_returns_to_the_last_search(page, demo_catalog):
    page.goto("/")
    box = page.get_by_label("Search songs")
    box.fill("bohemian")
    page.wait_for_url("**/?q=bohemian")
    page.wait_for_selector("#result-0:has-text('Bohemian Rhapsody')")
    box.fill("waterloo")
    page.wait_for_url("**/?q=waterloo")
    page.wait_for_selector("#result-0:has-text('Waterloo')")
    page.go_back()
    page.wait_for_url("**/?q=bohemian")
    page.wait_for_selector("#result-0:has-text('Bohemian Rhapsody')")
    assert box.input_value() == "bohemian"
    # A shared link opens with the results.
    page.goto("/?q=waterloo")
    assert "Waterloo" in page.locator(FIRST_TITLE).inner_text()


def test_readable_on_a_narrow_screen(page, demo_catalog, screenshot):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/?q=queen")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    screenshot("narrow-screen")


def test_without_javascript_the_form_gets_server_rendered_results(
    browser, live_server, demo_catalog, screenshot
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto("/")
        plain.get_by_label("Search songs").fill("bohemain rapsody")
        plain.get_by_role("button", name="Search").click()
        plain.wait_for_url("**/?q=bohemain+rapsody")
        assert plain.locator(FIRST_TITLE).inner_text() == "Bohemian Rhapsody"
        assert "1 result" in plain.locator("#status").inner_text()
        plain.screenshot(path=str(screenshot.folder / "no-javascript.png"), full_page=True)
    finally:
        context.close()
