from django.apps import AppConfig


class LibraryConfig(AppConfig):
    """Users' Spotify libraries: playlists, their items, plays and gaps in the plays."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "library"
    verbose_name = "Users' libraries"
