"""Catalog reads other than search (see catalog/search.py)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from catalog.models import Song, SongArtist
from catalog.normalize import normalize


def songs_for_display(*, songs: QuerySet[Song] | None = None) -> QuerySet[Song]:
    """Songs (all, or those of ``songs``) with what a listing or an export shows, the album and
    the ordered artists, loaded in two more queries."""
    songs = Song.objects.all() if songs is None else songs
    return songs.select_related("album").prefetch_related(
        Prefetch(
            "song_artists",
            queryset=SongArtist.objects.select_related("artist").order_by("position"),
        )
    )


def song_list(
    *,
    artist: str | None = None,
    album: str | None = None,
    year_min: int | None = None,
    year_max: int | None = None,
    explicit: bool | None = None,
    has_spotify_id: bool | None = None,
    match_status: str | None = None,
) -> QuerySet[Song]:
    """Songs matching the filters, in id order (stable for pagination)."""
    songs = songs_for_display()
    if artist and normalize(artist):
        songs = songs.filter(artists_norm__contains=normalize(artist))
    if album and normalize(album):
        songs = songs.filter(album_norm__contains=normalize(album))
    if year_min is not None:
        songs = songs.filter(release_year__gte=year_min)
    if year_max is not None:
        songs = songs.filter(release_year__lte=year_max)
    if explicit is not None:
        songs = songs.filter(explicit=explicit)
    if has_spotify_id is not None:
        songs = songs.filter(spotify_id__isnull=not has_spotify_id)
    if match_status:
        songs = songs.filter(match_status=match_status)
    return songs.order_by("id")
