"""DRF's scoped throttle, failing open while the shared cache (Redis) does not answer.

A throttle only slows abuse down; refusing every request because Redis is down would turn a
cache outage into an outage of the endpoint. The failure is logged (core.shared_state).
"""

from __future__ import annotations

from typing import Any

from rest_framework import throttling

from core.shared_state import CACHE_ERRORS, cache_failed, cache_recently_failed


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        if cache_recently_failed():
            return True
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            cache_failed(f"the {self.scope} throttle", exc)
            return True
