"""Input validation and output shapes of the catalog API."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from catalog.models import MatchStatus, Song
from catalog.records import release_date_text
from core.serializers import QueryParamsSerializer

MAX_QUERY = 200
# What happened to hybrid search's Spotify leg (catalog.hybrid.service.STATUSES).
SPOTIFY_STATUSES = [
    "ok", "cached", "skipped", "timeout", "rate_limited", "circuit_open", "not_configured", "error"
]  # fmt: skip


_DATETIME = serializers.DateTimeField()


def _datetime(value):
    """As DRF's DateTimeField shows it (ISO 8601 in the current time zone, UTC as ``Z``),
    without its per-call machinery (three of these a song; a test compares the outputs)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        return _DATETIME.to_representation(value)
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _artists(song: Song) -> list[dict]:
    """The song's artists in order; search reads them with the page (``display_artists``)."""
    artists = getattr(song, "display_artists", None)
    if artists is not None:
        return artists
    return [
        {"id": sa.artist.id, "name": sa.artist.name, "spotify_id": sa.artist.spotify_id}
        for sa in song.song_artists.all()
    ]


class SongArtistSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="artist.id")
    name = serializers.CharField(source="artist.name")
    spotify_id = serializers.CharField(source="artist.spotify_id", allow_null=True)


class AlbumBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    spotify_id = serializers.CharField(allow_null=True)


class SpotifyFieldsSerializer(serializers.Serializer):
    id = serializers.CharField(source="spotify_id", allow_null=True)
    uri = serializers.CharField(source="spotify_uri", allow_null=True)
    album_image_url = serializers.URLField(allow_null=True)
    popularity = serializers.IntegerField(allow_null=True)
    preview_url = serializers.URLField(allow_null=True)
    audio_features = serializers.JSONField(allow_null=True)
    synced_at = serializers.DateTimeField(
        source="spotify_synced_at",
        allow_null=True,
        help_text="When the Spotify fields were last read from Spotify (match or refresh).",
    )
    url = serializers.URLField(
        source="spotify_url",
        allow_null=True,
        read_only=True,
        help_text="The track on open.spotify.com.",
    )
    gone = serializers.BooleanField(
        source="spotify_gone",
        read_only=True,
        help_text="Spotify no longer has the track (404 at the last refresh); the song is kept.",
    )


class SongSerializer(serializers.ModelSerializer):
    artists = SongArtistSerializer(source="song_artists", many=True)
    album = AlbumBriefSerializer(allow_null=True)
    release_date = serializers.SerializerMethodField()
    spotify = SpotifyFieldsSerializer(source="*")

    class Meta:
        model = Song
        fields = [
            "id",
            "title",
            "artists",
            "artist_names",
            "album",
            "duration_ms",
            "isrc",
            "release_date",
            "release_year",
            "explicit",
            "spotify",
            "match_status",
            "match_confidence",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, song: Song) -> dict:
        """The declared fields, built directly: DRF's generic field machinery costs several
        milliseconds for a page of songs, most of a search's budget. A test checks this
        equals the generic output (``super().to_representation``)."""
        album = song.album
        return {
            "id": song.id,
            "title": song.title,
            "artists": _artists(song),
            "artist_names": song.artist_names,
            "album": None
            if album is None
            else {"id": album.id, "title": album.title, "spotify_id": album.spotify_id},
            "duration_ms": song.duration_ms,
            "isrc": song.isrc,
            "release_date": self.get_release_date(song),
            "release_year": song.release_year,
            "explicit": song.explicit,
            "spotify": {
                "id": song.spotify_id,
                "uri": song.spotify_uri,
                "album_image_url": song.album_image_url,
                "popularity": song.popularity,
                "preview_url": song.preview_url,
                "audio_features": song.audio_features,
                "synced_at": _datetime(song.spotify_synced_at),
                "url": song.spotify_url,
                "gone": song.spotify_gone,
            },
            "match_status": song.match_status,
            "match_confidence": song.match_confidence,
            "created_at": _datetime(song.created_at),
            "updated_at": _datetime(song.updated_at),
        }

    def get_release_date(self, song: Song) -> str | None:
        """As precise as the source said: "1975", "1975-10" or "1975-10-31"."""
        return release_date_text(song.release_date, song.release_date_precision)


_SONG = SongSerializer()


def song_data(song: Song) -> dict:
    """A song as the API shows it (SongSerializer's output)."""
    return _SONG.to_representation(song)


class SearchArtistSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null: not in the catalog")
    name = serializers.CharField()
    spotify_id = serializers.CharField(allow_null=True)


class SearchAlbumSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null: not in the catalog")
    title = serializers.CharField()
    spotify_id = serializers.CharField(allow_null=True)


class SearchSongSerializer(SongSerializer):
    """A search result's song: a catalog song, or a Spotify track in the same shape with the
    catalog's fields null (documentation only; catalog.hybrid.response builds it)."""

    id = serializers.IntegerField(allow_null=True, help_text="null: a Spotify result")
    # Nullable ids where SongSerializer has the catalog's: narrower types are the point.
    artists = SearchArtistSerializer(many=True)  # type: ignore[assignment]
    album = SearchAlbumSerializer(allow_null=True)  # type: ignore[assignment]
    match_status = serializers.ChoiceField(choices=MatchStatus.choices, allow_null=True)
    match_confidence = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)

    class Meta(SongSerializer.Meta):
        pass


class SearchHitSerializer(serializers.Serializer):
    score = serializers.FloatField(
        allow_null=True, help_text="Local relevance; null for a Spotify result (Spotify's order)"
    )
    # The field named "source" shadows Field.source only for the type checker.
    source = serializers.ChoiceField(choices=["local", "spotify"])  # type: ignore[assignment]
    in_catalog = serializers.BooleanField(
        help_text="False: a Spotify track the catalog lacks (staff can add it)"
    )
    song = SearchSongSerializer()


class LocalSourceSerializer(serializers.Serializer):
    took_ms = serializers.FloatField()
    total = serializers.IntegerField()
    cached = serializers.BooleanField(
        help_text="Answered from the shared search cache: the catalog has not changed since "
        "the same search ran (docs/search.md, The search cache); took_ms is the look-up's"
    )


class SpotifySourceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=SPOTIFY_STATUSES,
        help_text="What happened to the Spotify leg (docs/search.md, Hybrid search)",
    )
    took_ms = serializers.FloatField()
    hits = serializers.IntegerField(help_text="Tracks Spotify returned, before deduplication")


class SearchSourcesSerializer(serializers.Serializer):
    local = LocalSourceSerializer()
    spotify = SpotifySourceSerializer()


class SongFilterSerializer(QueryParamsSerializer):
    """Filters shared by the list and the search endpoints (an empty one is a 400)."""

    artist = serializers.CharField(required=False, max_length=MAX_QUERY, trim_whitespace=True)
    album = serializers.CharField(required=False, max_length=MAX_QUERY, trim_whitespace=True)
    year_min = serializers.IntegerField(required=False, min_value=1000, max_value=2100)
    year_max = serializers.IntegerField(required=False, min_value=1000, max_value=2100)
    explicit = serializers.BooleanField(required=False, allow_null=True, default=None)
    has_spotify_id = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        low, high = attrs.get("year_min"), attrs.get("year_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"year_min": "must not be greater than year_max"})
        return attrs


class SongSearchInputSerializer(SongFilterSerializer):
    q = serializers.CharField(max_length=MAX_QUERY, trim_whitespace=True)
    spotify = serializers.ChoiceField(choices=["auto", "always", "never"], required=False)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)

    def validate_offset(self, value: int) -> int:
        cap = settings.SEARCH_CANDIDATE_CAP
        if value > cap:
            raise serializers.ValidationError(
                f"search results go {cap} deep at most; refine the query instead"
            )
        return value


class SongListInputSerializer(SongFilterSerializer):
    match_status = serializers.ChoiceField(required=False, choices=MatchStatus.values)


class TermSerializer(serializers.Serializer):
    term = serializers.CharField(source="text")
    corrections = serializers.ListField(
        child=serializers.CharField(),
        help_text="Words within the term's typo allowance that it was widened to, nearest and "
        "most common first",
    )
    completions = serializers.SerializerMethodField(
        help_text="The catalog's words the term was completed to, most common first (at most "
        "10 shown); null when there are too many to list (every word starting with it matches)"
    )
    relaxed = serializers.BooleanField(
        help_text="Nothing in the catalog starts with the term or is near it: not required"
    )

    def get_completions(self, term) -> list[str] | None:
        return None if term.completions is None else term.completions[:10]


class QueryUnderstoodSerializer(serializers.Serializer):
    q = serializers.CharField()
    normalized = serializers.CharField()
    corrected = serializers.CharField(
        help_text="The query with each word the catalog does not know replaced by its best "
        "correction"
    )
    relaxed = serializers.BooleanField(
        help_text="No song had every term: the results have all terms but one"
    )
    terms = TermSerializer(many=True)
    filters = serializers.DictField()


class SearchResponseSerializer(serializers.Serializer):
    query = QueryUnderstoodSerializer()
    total = serializers.IntegerField(help_text="Matches found (at least this many if not exact)")
    total_is_exact = serializers.BooleanField()
    has_more = serializers.BooleanField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    took_ms = serializers.FloatField()
    results = SearchHitSerializer(many=True)
    sources = SearchSourcesSerializer()
