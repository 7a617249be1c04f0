"""The /spotify/ page in a real browser: a listener's playlists, plays and gap; "sync now"
(with JavaScript, then without) runs the plays sync against the fake Spotify and shows it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from bench.fake_library import FakeAccount, make_track
from bench.fake_spotify import FakeSpotify, endpoint_label
from spotify_integration.vault import token_decrypt
from tests.browser.conftest import _forget_spotify_state
from tests.library.web.conftest import NEWEST, Library, library_make

pytestmark = [pytest.mark.browser, pytest.mark.loopback, pytest.mark.django_db(transaction=True)]

ITEMS = re.compile(r"^/v1/playlists/[^/]+/items$")
LIBRARY_LABELS = (
    "GET /me/playlists",
    "GET /playlists/{id}/items",
    "GET /me/player/recently-played",
)


class LibrarySpotify(FakeSpotify):
    """bench's fake Spotify that also answers for one account's library (bench.fake_library)
    and accepts that account's access token."""

    def __init__(self, account: FakeAccount, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.account = account

    def accept(self, token: str) -> None:
        with self._lock:
            self._tokens.add(token)

    def answer(self, path: str, query: dict[str, str]) -> tuple[str, int, Any]:
        label = "GET /playlists/{id}/items" if ITEMS.match(path) else endpoint_label(path)
        if label in LIBRARY_LABELS:
            return label, *self.account.answer(label, path, query)
        return super().answer(path, query)


@pytest.fixture
def listener(settings) -> Iterator[tuple[Library, LibrarySpotify]]:
    library = library_make("listener", tag="L", plays=30, spotify_user_id="listener-sp")
    account = FakeAccount(user_id="listener-sp")
    newest_ms = int(NEWEST.timestamp() * 1000)
    for n in range(3):  # three plays after the newest stored one
        account.play(newest_ms + (n + 1) * 200_000, make_track(7000 + n))
    fake = LibrarySpotify(account)
    settings.SPOTIFY_API_URL, settings.SPOTIFY_ACCOUNTS_URL = fake.start()
    fake.accept(token_decrypt(ciphertext=library.connection.access_token_encrypted))
    _forget_spotify_state()
    yield library, fake
    fake.stop()
    _forget_spotify_state()


def _sign_in(page, live_server, library: Library) -> None:
    client = Client()
    client.force_login(library.user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_a_listener_sees_their_library_and_syncs_now(page, live_server, listener, screenshot):
    library, fake = listener
    _sign_in(page, live_server, library)
    page.goto("/spotify/")
    assert page.locator("#health").inner_text().startswith("Connected.")
    playlists = page.locator("#playlists")
    assert playlists.get_by_text("L Road Trip").is_visible()
    assert (
        playlists.locator("tr", has_text="L Followed Mix")
        .get_by_text("not readable (followed)")
        .is_visible()
    )
    assert page.locator("#plays .play").first.inner_text().startswith("L Song 0")
    gap = page.locator("#gaps li")
    assert gap.count() == 1
    assert "26 Nov 2026, 18:00 to 26 Nov 2026, 20:00" in gap.inner_text()
    assert page.locator("#plays-synced").inner_text() == "29 Nov 2026, 20:05"
    screenshot("spotify-page")

    # "Sync now" (JavaScript): the job runs, the status line follows it, the page reloads.
    page.get_by_label("Sync now").select_option("plays")
    page.get_by_role("button", name="Sync now").click()
    page.locator("#plays .play").first.filter(has_text="Song 7002").wait_for()
    assert fake.calls["GET /me/player/recently-played"] == 1
    assert page.locator("#plays-synced").inner_text() != "29 Nov 2026, 20:05"
    assert page.locator(".runs li").first.inner_text().endswith("plays, succeeded")
    screenshot("spotify-page-synced")


def test_sync_now_without_javascript(browser, live_server, listener, screenshot):
    library, fake = listener
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, live_server, library)
    page.goto("/spotify/")
    page.get_by_label("Sync now").select_option("plays")
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_url("**/spotify/")
    assert "Sync of your plays started" in page.locator(".messages").inner_text()
    assert page.locator("#plays .play").first.inner_text().startswith("Song 7002")
    assert fake.calls["GET /me/player/recently-played"] == 1
    page.screenshot(path=str(screenshot.folder / "spotify-page-no-js.png"), full_page=True)
    context.close()
