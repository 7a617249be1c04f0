"""System checks (``sync.checks``)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_system_check_refuses_timings_above_the_visibility_timeout(settings):
    from sync.checks import check_visibility_timeout

    assert check_visibility_timeout() == []
    settings.SYNC_RETRY_MAX_DELAY = 5 * 60 * 60
    [error] = check_visibility_timeout()
    assert error.id == "sync.E001" and "SYNC_RETRY_MAX_DELAY" in error.msg


def test_system_check_refuses_a_budget_wait_as_long_as_the_heartbeat_timeout(settings):
    # A job's Spotify call may wait SPOTIFY_BACKGROUND_WAIT for budget without a heartbeat;
    # as long as SYNC_HEARTBEAT_TIMEOUT, the reaper would declare the waiting worker lost.
    from sync.checks import check_budget_wait_below_heartbeat

    assert check_budget_wait_below_heartbeat() == []
    settings.SYNC_HEARTBEAT_TIMEOUT = 120
    settings.SPOTIFY_BACKGROUND_WAIT = 120
    [error] = check_budget_wait_below_heartbeat()
    assert error.id == "sync.E002" and "SPOTIFY_BACKGROUND_WAIT" in error.msg
