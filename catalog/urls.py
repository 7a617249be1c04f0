from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.apis import SongFromSpotifyApi
from catalog.views import SongViewSet

router = SimpleRouter()
router.register("songs", SongViewSet, basename="song")

# Before the router's routes: its song detail pattern would take "from-spotify" as a pk.
urlpatterns = [
    path("songs/from-spotify/", SongFromSpotifyApi.as_view(), name="song-from-spotify"),
    *router.urls,
]
