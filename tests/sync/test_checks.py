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


def test_system_check_refuses_a_heartbeat_timeout_of_fewer_than_three_beats(settings):
    from sync.checks import check_heartbeat_interval

    assert check_heartbeat_interval() == []  # the defaults: a beat every 15 s, lost after 90 s
    settings.SYNC_HEARTBEAT_TIMEOUT = 40
    [error] = check_heartbeat_interval()
    assert error.id == "sync.E002" and "SYNC_HEARTBEAT_INTERVAL" in error.msg
