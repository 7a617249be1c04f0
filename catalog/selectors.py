"""Catalog reads other than search (see catalog/search.py)."""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import Song
from catalog.normalize import normalize
from catalog.search import songs_for_display


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
