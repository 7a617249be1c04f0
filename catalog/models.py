from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models

from catalog.identity import free_key, identity_key_for, provisional_key
from catalog.normalize import normalize, searchable_artists
from catalog.version import CatalogModel


def artist_key(name: str) -> str:
    """An artist's identity without a Spotify id: the normalised name, or for a name of
    punctuation only ("!!!") the name itself."""
    return (normalize(name) or name.strip().lower())[:500]


class Artist(CatalogModel):
    name = models.CharField(max_length=500)
    # Identity when Spotify gives no id: the normalised name (so "Beyoncé" == "BEYONCE").
    name_key = models.CharField(max_length=500, unique=True)
    spotify_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_key = artist_key(self.name)
        super().save(*args, **kwargs)


class Album(CatalogModel):
    title = models.CharField(max_length=500)
    # Identity without a Spotify id: normalised title + normalised main artist.
    album_key = models.CharField(max_length=1000, unique=True)
    main_artist_name = models.CharField(max_length=500, blank=True, default="")
    spotify_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    image_url = models.URLField(max_length=1000, null=True, blank=True)
    release_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.album_key = self.key_for(self.title, self.main_artist_name)
        super().save(*args, **kwargs)

    @staticmethod
    def key_for(title: str, main_artist: str) -> str:
        return f"{normalize(title)}|{normalize(main_artist)}"[:1000]


class MatchStatus(models.TextChoices):
    UNMATCHED = "unmatched", "Not tried yet"
    MATCHED = "matched", "Matched"
    NEEDS_REVIEW = "needs_review", "Needs review"
    NO_MATCH = "no_match", "No match on Spotify"
    # The song had a Spotify id and Spotify now answers 404 for it; the song is kept.
    GONE = "gone", "Gone from Spotify"


SPOTIFY_TRACK_URL = "https://open.spotify.com/track/"


class DatePrecision(models.TextChoices):
    YEAR = "year"
    MONTH = "month"
    DAY = "day"


class Song(CatalogModel):
    title = models.CharField(max_length=500)
    artists = models.ManyToManyField(Artist, through="SongArtist", related_name="songs")
    # The artists' names in order, joined for display; kept in step with `artists`.
    artist_names = models.CharField(max_length=2000, blank=True, default="")
    album = models.ForeignKey(
        Album, null=True, blank=True, on_delete=models.SET_NULL, related_name="songs"
    )
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    isrc = models.CharField(max_length=12, null=True, blank=True, db_index=True)
    release_date = models.DateField(null=True, blank=True)
    release_date_precision = models.CharField(
        max_length=5, choices=DatePrecision.choices, null=True, blank=True
    )
    # Filters on year apply to search candidates and id-ordered listings: no index needed,
    # and every index slows bulk imports.
    release_year = models.PositiveSmallIntegerField(null=True, blank=True)
    explicit = models.BooleanField(null=True, blank=True)  # NULL: the source did not say

    # Spotify fields: each may be missing, Spotify withholds several from new apps.
    spotify_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    spotify_uri = models.CharField(max_length=100, null=True, blank=True)
    album_image_url = models.URLField(max_length=1000, null=True, blank=True)
    popularity = models.PositiveSmallIntegerField(null=True, blank=True)
    preview_url = models.URLField(max_length=1000, null=True, blank=True)
    audio_features = models.JSONField(null=True, blank=True)
    # When Spotify was last asked for the audio features (it may have none for a track).
    audio_features_synced_at = models.DateTimeField(null=True, blank=True)
    match_status = models.CharField(
        max_length=12, choices=MatchStatus.choices, default=MatchStatus.UNMATCHED
    )
    match_confidence = models.FloatField(null=True, blank=True)
    spotify_synced_at = models.DateTimeField(null=True, blank=True)

    # Search columns, maintained by the model layer (save() and the bulk upsert service).
    title_norm = models.CharField(max_length=500, default="", editable=False)
    artists_norm = models.CharField(max_length=2000, default="", editable=False)
    album_norm = models.CharField(max_length=500, default="", editable=False)
    # The song's identity for idempotent imports: Spotify id, else ISRC, else
    # normalised title + main artist + album. Set when the row is first written.
    identity_key = models.CharField(max_length=1200, unique=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    if TYPE_CHECKING:
        # Set on the songs a search loads (catalog.search): the extra columns of its one
        # statement, and the ordered artists that the serializer shows.
        search_score: float
        search_total: int
        search_album_title: str | None
        search_album_spotify_id: str | None
        search_artists: str | list[list[Any]] | None
        display_artists: list[dict[str, Any]]

    class Meta:
        ordering = ["id"]
        # Search indexes are per database, in migration 0002 (PostgreSQL needs extensions).

    def __str__(self) -> str:
        return f"{self.title} — {self.artist_names}" if self.artist_names else self.title

    def save(self, *args, **kwargs):
        self.refresh_search_fields()
        super().save(*args, **kwargs)
        # Search expands prefixes and corrects typos against the catalog's vocabulary.
        words = set(f"{self.title_norm} {self.artists_norm} {self.album_norm}".split())
        SearchWord.objects.bulk_create(
            [SearchWord(word=w, songs=1) for w in words if len(w) <= 100], ignore_conflicts=True
        )

    @property
    def spotify_url(self) -> str | None:
        """The track's page on open.spotify.com, when the song has a Spotify id."""
        return f"{SPOTIFY_TRACK_URL}{self.spotify_id}" if self.spotify_id else None

    @property
    def spotify_gone(self) -> bool:
        """Spotify answered 404 for the song's track at the last refresh (the song is kept)."""
        return self.match_status == MatchStatus.GONE

    def assign_identity_key(self) -> None:
        """Key the song by its current metadata, made unique if another song holds it."""
        others = Song.objects.exclude(pk=self.pk)
        self.identity_key = free_key(
            self.natural_identity_key(),
            taken=lambda key: others.filter(identity_key=key).exists(),
        )

    def natural_identity_key(self) -> str:
        """The key the song's metadata gives (catalog.identity), before any collision suffix."""
        return identity_key_for(
            spotify_id=self.spotify_id, isrc=self.isrc, title=self.title,
            main_artist=self.main_artist_name(), album=self.album_title(),
        )  # fmt: skip

    def album_title(self) -> str:
        album = self.album if self.album_id else None
        return album.title if album is not None else ""

    def main_artist_name(self) -> str:
        """The artist at position 0, once the song has its artists; else the first listed."""
        if self.pk:
            first = self.song_artists.select_related("artist").order_by("position").first()
            if first:
                return first.artist.name
        return self.artist_names.split(", ")[0] if self.artist_names else ""

    def refresh_search_fields(self) -> None:
        self.title_norm = normalize(self.title)[:500]
        self.artists_norm = searchable_artists(self.artist_names)[:2000]
        self.album_norm = normalize(self.album_title())[:500]
        if (
            not self.identity_key
            and self.pk is None
            and not (self.spotify_id or self.isrc or self.artist_names)
        ):
            # Created without artists yet (the admin adds them after the first save): a
            # provisional key, replaced by the real one once the artists are known.
            self.identity_key = provisional_key()
        if not self.identity_key:
            # A key another song holds is not taken over (catalog.identity): a suffix, as an
            # import gives it.
            self.assign_identity_key()


class SongArtist(CatalogModel):
    """A song's artist at a position: 0 is the main artist, then featured ones in order."""

    # (song, position) is unique, and that index serves look-ups by song as well.
    song = models.ForeignKey(
        Song, on_delete=models.CASCADE, related_name="song_artists", db_index=False
    )
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="song_artists")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["song", "position"]
        constraints = [
            models.UniqueConstraint(fields=["song", "position"], name="songartist_position_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.artist_id}"


class SearchWord(CatalogModel):
    """The distinct words of the catalog's search columns, for prefix completion and typo
    correction (catalog.vocabulary), with how many songs have each: completions and
    corrections are ranked by it. Imports count the words of the songs they create;
    ``manage.py refresh_search_words`` recounts exactly."""

    word = models.CharField(max_length=100, unique=True)
    songs = models.PositiveIntegerField(default=0, db_default=0)

    def __str__(self) -> str:
        return self.word


class SongMatch(models.Model):
    """The last matching decision for a song and the evidence for it: the queries sent, the
    best candidates with their score per part, the thresholds applied. One row a song, beside
    the song so that the songs table stays narrow for search.

    ``manual`` marks a decision a person made (an accepted or rejected review, an admin edit of
    the Spotify fields): automatic runs never change such a song's match.
    """

    song = models.OneToOneField(
        Song, on_delete=models.CASCADE, primary_key=True, related_name="match"
    )
    status = models.CharField(max_length=12, choices=MatchStatus.choices)
    confidence = models.FloatField(null=True, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField()
    manual = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        indexes = [models.Index(fields=["status", "decided_at"], name="catalog_songmatch_status")]

    def __str__(self) -> str:
        return f"{self.song_id}: {self.status}"


class SongReview(Song):
    """The admin's review queue (catalog/admin_review.py): songs whose match needs a person.
    A proxy, so that the queue is a list of its own beside the songs, with its own
    permissions (``catalog.change_songreview`` decides reviews)."""

    class Meta:
        proxy = True
        verbose_name = "match review"
        verbose_name_plural = "match reviews"
