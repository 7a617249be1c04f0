"""Routes of the user's library: the /api/spotify/me/ API and the /spotify/ page."""

from django.urls import path

from library import apis, pages

app_name = "library"

urlpatterns = [
    path("api/spotify/me/playlists/", apis.MyPlaylistsApi.as_view(), name="playlists"),
    path(
        "api/spotify/me/playlists/<str:spotify_id>/",
        apis.MyPlaylistDetailApi.as_view(),
        name="playlist",
    ),
    path("api/spotify/me/recently-played/", apis.MyRecentlyPlayedApi.as_view(), name="plays"),
    path("api/spotify/me/gaps/", apis.MyGapsApi.as_view(), name="gaps"),
    path("api/spotify/me/sync/", apis.MySyncApi.as_view(), name="sync"),
    path("api/spotify/me/history/", apis.MyHistoryApi.as_view(), name="history"),
    path("spotify/", pages.spotify_page, name="page"),
    path("spotify/sync/", pages.spotify_page_sync, name="page-sync"),
    path("spotify/history/", pages.spotify_page_history, name="page-history"),
]
