"""Job errors (``sync.exceptions``): which failures are worth a retry."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_what_counts_as_transient():
    from django.db import OperationalError

    from core.exceptions import RateLimited, ValidationFailed
    from sync.exceptions import TransientJobError, is_transient

    class FlaggedUpstreamError(Exception):
        transient = True

    assert is_transient(TransientJobError())
    assert is_transient(FlaggedUpstreamError())
    assert is_transient(RateLimited(retry_after=30))
    assert is_transient(OperationalError("server closed the connection unexpectedly"))
    assert not is_transient(ValidationFailed())
    assert not is_transient(ValueError())
