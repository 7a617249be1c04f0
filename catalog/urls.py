from rest_framework.routers import SimpleRouter

from catalog.views import SongViewSet

router = SimpleRouter()
router.register("songs", SongViewSet, basename="song")

urlpatterns = router.urls
