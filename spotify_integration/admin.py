"""Admin for Spotify connections: shows that tokens are stored and when they expire, never them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from spotify_integration.models import SpotifyConnection
from spotify_integration.services.connections import connection_delete


@admin.register(SpotifyConnection)
class SpotifyConnectionAdmin(admin.ModelAdmin):
    # Typed as open tuples: the library app's admin extends each of them.
    list_display: tuple[Any, ...] = (
        "user",
        "display_name",
        "account_id",
        "status",
        "token_stored",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "last_refreshed_at",
    )
    list_filter: ClassVar[tuple[Any, ...]] = ("status",)
    search_fields: ClassVar[tuple[Any, ...]] = (
        "user__username",
        "account_id",
        "display_name",
        "spotify_user_id",
    )
    list_select_related: ClassVar[tuple[str, ...]] = ("user",)
    # The encrypted columns are not editable and never listed: not even ciphertext is shown.
    fields: ClassVar[tuple[Any, ...]] = (
        "user",
        "account_id",
        "spotify_user_id",
        "display_name",
        "status",
        "granted_scopes",
        "token_stored",
        "access_token_expires_at",
        "authorized_at",
        "refresh_token_expires_at",
        "last_refreshed_at",
        "last_error",
        "last_error_at",
        "created_at",
        "updated_at",
    )
    readonly_fields: ClassVar[tuple[Any, ...]] = fields
    actions: tuple[Any, ...] = ("disconnect",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # connections come from the user's OAuth consent only

    @admin.display(boolean=True, description="Token stored")
    def token_stored(self, obj: SpotifyConnection) -> bool:
        return obj.has_access_token or obj.has_refresh_token

    @admin.display(description="Refresh token expires")
    def refresh_token_expires_at(self, obj: SpotifyConnection) -> datetime:
        return obj.refresh_token_expires_at

    # It deletes the connection: only staff who may delete connections get it, not view-only staff.
    @admin.action(
        description="Disconnect (erase tokens, remove connection)", permissions=["delete"]
    )
    def disconnect(self, request: HttpRequest, queryset: QuerySet[SpotifyConnection]) -> None:
        count = 0
        for connection in queryset.select_related("user"):
            count += connection_delete(user=connection.user)["connections"]
        self.message_user(request, f"Disconnected {count} Spotify connection(s).", messages.SUCCESS)
