"""Input and output shapes of the Spotify endpoints. Outputs never include token values."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import QueryParamsSerializer


class CallbackInputSerializer(serializers.Serializer):
    """Spotify's redirect: ``code`` and ``state``, or ``error`` and ``state``."""

    state = serializers.CharField(required=False, allow_blank=True, max_length=200)
    code = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    error = serializers.CharField(required=False, allow_blank=True, max_length=200)


class DisconnectInputSerializer(QueryParamsSerializer):
    purge = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Report the user's library deleted with the connection (playlists, items, "
        "plays, gaps, sync state), by model, in `deleted`. The library is deleted with the "
        "connection in any case.",
    )


class AuthorizeUrlOutputSerializer(serializers.Serializer):
    authorize_url = serializers.URLField()


class ConnectionStatusOutputSerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    connected = serializers.BooleanField()
    status = serializers.CharField(allow_null=True)
    app_mode = serializers.CharField()
    paused_for_seconds = serializers.IntegerField()
    account_id = serializers.CharField(allow_null=True)
    spotify_user_id = serializers.CharField(allow_null=True)
    display_name = serializers.CharField(allow_null=True)
    granted_scopes = serializers.ListField(child=serializers.CharField())
    required_scopes = serializers.ListField(child=serializers.CharField())
    missing_scopes = serializers.ListField(child=serializers.CharField())
    authorized_at = serializers.DateTimeField(allow_null=True)
    access_token_expires_at = serializers.DateTimeField(allow_null=True)
    refresh_token_expires_at = serializers.DateTimeField(allow_null=True)
    refresh_token_expired = serializers.BooleanField()
    last_refreshed_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    last_error_at = serializers.DateTimeField(allow_null=True)
    reconnect_url = serializers.CharField()
    state = serializers.ChoiceField(
        choices=["active", "expiring", "expired", "needs_reauth", "profile_pending"],
        allow_null=True,
        help_text="The connection's lifecycle state (docs/connections.md); null: not connected.",
    )
    state_reason = serializers.CharField(allow_null=True)
    profile_pending = serializers.BooleanField()


class DisconnectOutputSerializer(serializers.Serializer):
    deleted = serializers.DictField(child=serializers.IntegerField())
