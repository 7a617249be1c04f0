"""Check the Spotify setup: get an app token with the credentials, show mode and pause."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from spotify_integration.client import spotify_app_token_check, spotify_configured
from spotify_integration.exceptions import SpotifyError, SpotifyRateLimited
from spotify_integration.ratelimit import spotify_paused_for


class Command(BaseCommand):
    help = "Verify the Spotify app credentials by getting an app token; print mode and pause."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"App mode: {settings.SPOTIFY_APP_MODE}")
        self.stdout.write(f"API URL: {settings.SPOTIFY_API_URL}")
        self.stdout.write(f"Accounts URL: {settings.SPOTIFY_ACCOUNTS_URL}")
        self.stdout.write(f"Redirect URI: {settings.SPOTIFY_REDIRECT_URI}")
        self.stdout.write(
            f"Rate budget: {settings.SPOTIFY_RATE_LIMIT_CALLS} calls per "
            f"{settings.SPOTIFY_RATE_LIMIT_WINDOW:g} s, "
            f"wait up to {settings.SPOTIFY_RATE_LIMIT_WAIT} s"
        )
        self.stdout.write(
            f"Lanes: {settings.SPOTIFY_INTERACTIVE_RESERVE:.0%} kept for interactive calls, "
            f"enrichment at most {settings.SPOTIFY_ENRICHMENT_SHARE:.0%} while others are "
            f"active; jobs wait up to {settings.SPOTIFY_BACKGROUND_WAIT:g} s for budget"
        )
        paused = spotify_paused_for()
        self.stdout.write(
            f"Paused for rate limits: yes, {paused} s left"
            if paused
            else "Paused for rate limits: no"
        )
        if not spotify_configured():
            raise CommandError(
                "Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET."
            )
        try:
            expires_at = spotify_app_token_check()
        except SpotifyRateLimited as exc:
            raise CommandError(f"{exc.message} (Retry-After {exc.retry_after} s)") from None
        except SpotifyError as exc:
            raise CommandError(
                f"App credentials check failed: {exc.message} [{exc.code}]"
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                "App credentials OK: got an app token valid until "
                f"{expires_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        )
