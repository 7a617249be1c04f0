from django.apps import AppConfig


class SpotifyIntegrationConfig(AppConfig):
    name = "spotify_integration"
    verbose_name = "Spotify integration"
