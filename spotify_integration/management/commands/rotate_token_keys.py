"""Re-encrypt every stored Spotify token under the first TOKEN_ENCRYPTION_KEYS key.

Rotation: put the new key first (keep the old ones after it), deploy, run this, then remove
the old keys. Safe to run again; it only rewrites tokens not yet under the first key.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.settings.safety import token_key_problems
from spotify_integration.exceptions import TokenUndecryptable
from spotify_integration.services.connections import connection_tokens_rotate


class Command(BaseCommand):
    help = "Re-encrypt stored Spotify tokens under the first TOKEN_ENCRYPTION_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = token_key_problems(settings.TOKEN_ENCRYPTION_KEYS)
        if problems:
            raise CommandError(" ".join(problems) + " Nothing was re-encrypted.")
        try:
            result = connection_tokens_rotate()
        except TokenUndecryptable as exc:
            raise CommandError(
                f"{exc.message} Put the old key back in TOKEN_ENCRYPTION_KEYS (after the new "
                "one) and run this again."
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {result.rotated} connection(s); "
                f"{result.already_current} already under the first key."
            )
        )
