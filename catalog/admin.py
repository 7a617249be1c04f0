from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ORDER_VAR
from django.db import models
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils.html import format_html

from catalog.admin_add import AddFromSpotifyMixin
from catalog.enrichment.match import song_match_set_by_hand
from catalog.models import Album, Artist, Song, SongArtist
from catalog.records import duration_text
from catalog.search import song_search
from catalog.serializers import MAX_QUERY
from catalog.services import song_artists_refresh

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _SongCount(TypedDict):
    song_count: int  # annotated by the admin's get_queryset


class SongArtistInline(admin.TabularInline):
    model = SongArtist
    extra = 0
    autocomplete_fields = ["artist"]
    ordering = ["position"]


class HasSpotifyIdFilter(admin.SimpleListFilter):
    title = "Spotify id"
    parameter_name = "has_spotify_id"

    def lookups(self, request, model_admin):
        return [("yes", "Has a Spotify id"), ("no", "No Spotify id")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(spotify_id__isnull=False)
        if self.value() == "no":
            return queryset.filter(spotify_id__isnull=True)
        return queryset


# Image and preview URLs are https; say so rather than rely on the changing default.
URL_FIELDS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


@admin.register(Song)
class SongAdmin(AddFromSpotifyMixin, admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = [
        "title", "artist_names", "album", "release_year", "duration", "explicit",
        "spotify_link", "match_status", "match_confidence", "spotify_synced_at",
    ]  # fmt: skip
    list_select_related = ["album"]
    list_filter = ["match_status", HasSpotifyIdFilter, "explicit", "release_year"]
    # The search box runs the catalog's own search (catalog.search: accents, prefixes, typos,
    # ranked), plus exact ISRC and Spotify id; see get_search_results.
    search_fields = ["title"]
    search_help_text = (
        "As the search API: title, artists, album (accents, typos, prefixes); or an exact "
        "ISRC or Spotify id. Best matches first unless you sort by a column."
    )
    readonly_fields = [
        "artist_names", "created_at", "updated_at", "spotify_link", "spotify_synced_at",
        "audio_features_synced_at",
    ]  # fmt: skip
    raw_id_fields = ["album"]
    inlines = [SongArtistInline]
    show_full_result_count = False  # COUNT(*) over a million rows on every page is slow
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "artist_names",
                    "album",
                    "duration_ms",
                    "isrc",
                    "release_date",
                    "release_date_precision",
                    "release_year",
                    "explicit",
                ]
            },
        ),
        (
            "Spotify",
            {
                "fields": [
                    "spotify_id",
                    "spotify_link",
                    "spotify_uri",
                    "album_image_url",
                    "popularity",
                    "preview_url",
                    "audio_features",
                    "match_status",
                    "match_confidence",
                    "spotify_synced_at",
                    "audio_features_synced_at",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_search_results(self, request, queryset, search_term):
        """The songs the search API finds for the term (its first SEARCH_CANDIDATE_CAP), in
        its order (``search_rank``), and a song whose ISRC or Spotify id is the term."""
        term = search_term.strip()
        if not term:
            return queryset, False
        found = song_search(query=term[:MAX_QUERY], limit=settings.SEARCH_CANDIDATE_CAP)
        ids = [hit.song.id for hit in found.results]
        rank = Case(
            *[When(pk=pk, then=Value(i)) for i, pk in enumerate(ids)],
            default=Value(-1),  # an exact ISRC or Spotify id comes first
            output_field=IntegerField(),
        )
        exact = Q(isrc=term.upper()) | Q(spotify_id=term)
        found_songs = queryset.filter(Q(pk__in=ids) | exact).annotate(search_rank=rank)
        if ORDER_VAR not in request.GET:  # best first, unless a column is sorted on
            found_songs = found_songs.order_by("search_rank", "-pk")
        return found_songs, False

    @admin.display(description="Spotify", ordering="spotify_id")
    def spotify_link(self, song: Song) -> str:
        """The track on open.spotify.com; a song gone from Spotify says so beside its id."""
        if not song.spotify_url:
            return "—"
        gone = " (gone from Spotify)" if song.spotify_gone else ""
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>{}', song.spotify_url,
            song.spotify_id, gone,
        )  # fmt: skip

    @admin.display(description="Duration", ordering="duration_ms")
    def duration(self, song: Song) -> str:
        return duration_text(song.duration_ms) if song.duration_ms else "—"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        song_artists_refresh(song=form.instance)
        if "spotify_id" in form.changed_data:
            # A Spotify id set (or cleared) by hand: automatic matching leaves it alone.
            song_match_set_by_hand(song=form.instance, user=request.user)


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ["name", "spotify_id", "song_count", "updated_at"]
    search_fields = ["name", "name_key", "=spotify_id"]
    readonly_fields = ["name_key", "created_at", "updated_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(song_count=Count("song_artists"))

    @admin.display(description="Songs", ordering="song_count")
    def song_count(self, artist: WithAnnotations[Artist, _SongCount]) -> int:
        return artist.song_count


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["title", "main_artist_name", "release_year", "spotify_id", "song_count"]
    search_fields = ["title", "main_artist_name", "=spotify_id"]
    list_filter = ["release_year"]
    readonly_fields = ["album_key", "created_at", "updated_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(song_count=Count("songs"))

    @admin.display(description="Songs", ordering="song_count")
    def song_count(self, album: WithAnnotations[Album, _SongCount]) -> int:
        return album.song_count


# The review queue registers itself on import (its own module keeps this one small).
from catalog import admin_review  # noqa: E402, F401
