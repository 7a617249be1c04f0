"""API input and output shapes of the library endpoints. No rules here: see selectors/services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from library.models import Play, PlayGap, Playlist, PlaylistItem
from library.selectors import PLAYLISTS_KIND, PLAYS_KIND
from sync.models import SyncJob

SYNC_WHAT_CHOICES = ("plays", "playlists", "all")
KIND_WHAT = {PLAYS_KIND: "plays", PLAYLISTS_KIND: "playlists"}


class SongRefSerializer(serializers.Serializer):
    """The catalog song a play or an item points at (null when it has none)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    artist_names = serializers.CharField()
    spotify_id = serializers.CharField(allow_null=True)


class PlaylistSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="spotify_id", help_text="Spotify's playlist id.")
    owner = serializers.SerializerMethodField()

    class Meta:
        model = Playlist
        fields = [
            "id",
            "name",
            "owner",
            "public",
            "collaborative",
            "snapshot_id",
            "item_count",
            "items_readable",
            "position",
            "synced_at",
            "items_synced_at",
        ]
        read_only_fields = fields

    def get_owner(self, playlist: Playlist) -> dict[str, str]:
        return {"id": playlist.owner_id, "display_name": playlist.owner_name}


class PlaylistItemSerializer(serializers.ModelSerializer):
    song = SongRefSerializer(allow_null=True)

    class Meta:
        model = PlaylistItem
        fields = [
            "position",
            "kind",
            "name",
            "artist_names",
            "duration_ms",
            "spotify_uri",
            "added_at",
            "added_by",
            "song",
        ]
        read_only_fields = fields


class PaginatedPlaylistItemsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PlaylistItemSerializer(many=True)


class PlaylistDetailSerializer(PlaylistSerializer):
    """The playlist with one page of its items (``limit``/``offset`` page the items)."""

    items = PaginatedPlaylistItemsSerializer(read_only=True)

    class Meta(PlaylistSerializer.Meta):
        fields = [*PlaylistSerializer.Meta.fields, "items"]
        read_only_fields = fields


class PlaySerializer(serializers.ModelSerializer):
    song = SongRefSerializer(allow_null=True)
    track_uri = serializers.SerializerMethodField()

    class Meta:
        model = Play
        fields = [
            "played_at",
            "track_id",
            "track_uri",
            "song",
            "context_type",
            "context_uri",
            "ms_played",
            "source",
        ]
        read_only_fields = fields

    def get_track_uri(self, play: Play) -> str:
        return f"spotify:track:{play.track_id}"


class PlayFilterSerializer(serializers.Serializer):
    """``from`` (inclusive) and ``to`` (exclusive), ISO 8601; a date alone means midnight UTC."""

    to = serializers.DateTimeField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False)  # a Python keyword
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"to": "Must be later than from."})
        return attrs


class GapSerializer(serializers.ModelSerializer):
    filled = serializers.SerializerMethodField()

    class Meta:
        model = PlayGap
        fields = ["id", "start", "end", "found_at", "filled", "filled_at", "filled_plays"]
        read_only_fields = fields

    def get_filled(self, gap: PlayGap) -> bool:
        return gap.filled_at is not None


class GapFilterSerializer(serializers.Serializer):
    open = serializers.BooleanField(
        required=False, default=False, help_text="true: only gaps no import has filled yet."
    )


class SyncRequestInputSerializer(serializers.Serializer):
    what = serializers.ChoiceField(choices=SYNC_WHAT_CHOICES)


class LibrarySyncJobSerializer(serializers.ModelSerializer):
    """A library sync job as its owner sees it (no worker ids, no other user's data)."""

    what = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    already_running = serializers.SerializerMethodField()

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "kind",
            "what",
            "status",
            "trigger",
            "created_at",
            "started_at",
            "finished_at",
            "attempts",
            "spotify_calls",
            "result",
            "error",
            "already_running",
        ]
        read_only_fields = fields

    def get_what(self, job: SyncJob) -> str:
        return KIND_WHAT.get(job.kind, job.kind)

    def get_error(self, job: SyncJob) -> dict[str, str] | None:
        if not job.error_code:
            return None
        return {"code": job.error_code, "message": job.error_message}

    def get_already_running(self, job: SyncJob) -> bool:
        """True when this request found the job already pending or running (none was added)."""
        return job.pk in self.context.get("already_running", ())


class SyncRequestOutputSerializer(serializers.Serializer):
    jobs = LibrarySyncJobSerializer(many=True)


class HistoryUploadInputSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        allow_empty=False,
        help_text="One or more files of Spotify's Extended streaming history export "
        "(Streaming_History_Audio_*.json).",
    )
