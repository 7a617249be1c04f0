"""Routes under ``/api/``: ``admin/sync-jobs/`` and its cancel/retry actions."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from sync.apis import SyncJobViewSet

router = SimpleRouter()
router.register("admin/sync-jobs", SyncJobViewSet, basename="sync-job")

urlpatterns = router.urls
