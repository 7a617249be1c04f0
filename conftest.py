"""Root test configuration: shared fixtures, and in CI a skipped test counts as a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("CI"):

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        report = outcome.get_result()
        if report.skipped and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where nothing may be skipped: {report.longrepr}"


def pytest_report_header(config):
    from tests.services import describe_services

    return describe_services()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests.services import describe_services

    terminalreporter.write_line(describe_services())


def _loopback_works() -> bool:
    """Whether this machine can serve and reach 127.0.0.1 (not in a bare network namespace)."""
    import socket

    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=1):
                return True
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    marked = [item for item in items if item.get_closest_marker("loopback")]
    if marked and not _loopback_works():
        skip = pytest.mark.skip(reason="needs the loopback interface (127.0.0.1), which is down")
        for item in marked:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _healthz_thread_connection_closed(django_db_setup, django_db_blocker):
    """/healthz checks the database from its own thread and connection: close that before
    pytest-django drops the test database (PostgreSQL refuses to drop one in use)."""
    yield
    from core.views import healthz_checker_close

    with django_db_blocker.unblock():
        healthz_checker_close()


@pytest.fixture(autouse=True)
def _shared_state_failures_forgotten():
    """A process skips Redis or the broker for a few seconds after they failed
    (core.shared_state): no test inherits that memo from the one before it."""
    from core.shared_state import cache_failure_reset

    cache_failure_reset()
    yield
    cache_failure_reset()


def clear_own_cache() -> None:
    """Empty the cache of this test process: with Redis, the keys of this xdist worker's
    prefix only (``cache.clear()`` would FLUSHDB every worker's keys)."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture
def search_cache_on(settings):
    """The search cache on (catalog.search_cache), empty before and after the test."""
    settings.SEARCH_CACHE_SECONDS = 300
    clear_own_cache()
    yield
    clear_own_cache()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="listener", password="pw-listener-1")


@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_user(
        username="operator", password="pw-operator-1", is_staff=True, is_superuser=True
    )


@pytest.fixture
def write_file(tmp_path: Path):
    """Write text (or bytes) to a file in tmp_path and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def demo_catalog(db):
    """The real songs and a few hundred synthetic ones: a small catalog to search."""
    from catalog.demo import demo_records
    from catalog.services import song_records_upsert

    return song_records_upsert(records=demo_records(1200))
