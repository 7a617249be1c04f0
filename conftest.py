"""Root test configuration: shared fixtures, and in CI a skipped test counts as a failure."""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI"):

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        report = outcome.get_result()
        if report.skipped and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where nothing may be skipped: {report.longrepr}"


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
