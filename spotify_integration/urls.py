"""Routes of the Spotify integration; included at the site root by config/urls.py.

The user's /spotify/ page is the library app's (``library:page``): it shows the connection
with the playlists and plays stored for it."""

from django.urls import path

from spotify_integration import apis, signin_views

app_name = "spotify"

urlpatterns = [
    path("api/spotify/connect/", apis.SpotifyConnectApi.as_view(), name="connect"),
    path("api/spotify/callback/", apis.SpotifyCallbackApi.as_view(), name="callback"),
    path("api/spotify/status/", apis.SpotifyStatusApi.as_view(), name="status"),
    path("api/spotify/connection/", apis.SpotifyConnectionApi.as_view(), name="connection"),
    path("accounts/login/", signin_views.EncoreLoginView.as_view(), name="login"),
    path("accounts/logout/", signin_views.EncoreLogoutView.as_view(), name="logout"),
    path("accounts/login/spotify/", signin_views.SpotifySignInStartView.as_view(), name="signin"),
]
