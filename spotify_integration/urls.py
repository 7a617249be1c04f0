"""Routes of the Spotify integration; included at the site root by config/urls.py."""

from django.urls import path

from spotify_integration import apis, views

app_name = "spotify"

urlpatterns = [
    path("api/spotify/connect/", apis.SpotifyConnectApi.as_view(), name="connect"),
    path("api/spotify/callback/", apis.SpotifyCallbackApi.as_view(), name="callback"),
    path("api/spotify/status/", apis.SpotifyStatusApi.as_view(), name="status"),
    path("api/spotify/connection/", apis.SpotifyConnectionApi.as_view(), name="connection"),
    path("spotify/", views.spotify_page, name="page"),
]
