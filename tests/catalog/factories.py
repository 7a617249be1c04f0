"""factory_boy factories for the catalog's rows. A song is saved through the model (its search
columns and identity key follow), and ``artists=[...]`` links artists in order as the admin
does (catalog.services.song_artists_refresh)."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from catalog.models import Album, Artist, Song, SongArtist
from catalog.services import song_artists_refresh


class ArtistFactory(DjangoModelFactory):
    class Meta:
        model = Artist

    name = factory.Sequence(lambda n: f"Artist {n}")


class AlbumFactory(DjangoModelFactory):
    class Meta:
        model = Album

    title = factory.Sequence(lambda n: f"Album {n}")
    main_artist_name = ""


class SongFactory(DjangoModelFactory):
    class Meta:
        model = Song
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Song {n}")
    artist_names = ""

    @factory.post_generation
    def artists(self, create: bool, names: list[str | Artist] | None, **kwargs: Any) -> None:
        """Link these artists (names or rows) at positions 0, 1, ..; names are found by their
        key or created."""
        if not create or not names:
            return
        for position, artist in enumerate(names):
            if isinstance(artist, str):
                artist = Artist.objects.filter(name=artist).first() or ArtistFactory(name=artist)
            SongArtist.objects.create(song=self, artist=artist, position=position)
        song_artists_refresh(song=self)
