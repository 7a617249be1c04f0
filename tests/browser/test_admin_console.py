"""The job console in a real browser (issue 15): start a job and watch its progress live,
cancel it (confirmed), read a failure and a warning, the job list at 1400 px; and the API docs
rendering with no network but Encore's own. Screenshots of each state go to
artifacts/screenshots/ (CI prints the folder)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from sync.models import JobStatus, SyncJob
from tests.sync.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.loopback, pytest.mark.django_db(transaction=True)]

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="the console tests run a real worker on Redis (REDIS_URL)"
)
WIDE = {"width": 1400, "height": 900}


def sign_in(page: Any, staff_user: Any, next_url: str) -> None:
    page.set_viewport_size(WIDE)
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", staff_user.username)
    page.fill("#id_password", "pw-operator-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_url}")


def start_from_the_form(page: Any, kind: str, values: dict[str, str]) -> None:
    form = page.locator(f"#start-{kind}")
    for name, value in values.items():
        field = form.locator(f"[name='{kind}-{name}']")
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/sync/syncjob/\d+/change/"))


def label_number(page: Any) -> int:
    text = page.locator(".field-progress .sync-progress-label").inner_text()
    return int(text.split("/")[0].replace(",", "").strip() or 0)


@needs_redis
def test_start_a_job_watch_its_progress_live_and_cancel_it(
    page, staff_user, celery_worker, screenshot
):
    sign_in(page, staff_user, "/admin/sync/syncjob/start/")
    start_from_the_form(
        page, "worker_check", {"items": "100000", "batch_size": "10", "pause_ms": "40"}
    )
    # The start returned at once: the job is running on the worker, not in the request.
    assert "Started job" in page.locator(".messagelist").inner_text()
    job = SyncJob.objects.get(kind="worker_check")
    first = wait_for(lambda: label_number(page) or None, timeout=20)
    # Live: the bar moves without a reload (the page polls the progress endpoint).
    page.wait_for_function(
        f"parseInt(document.querySelector('.field-progress .sync-progress-label')"
        f".textContent.replace(/,/g, '')) > {first}",
        timeout=15_000,
    )
    assert page.locator(".field-status_badge .sync-status").inner_text() == "Running"
    screenshot("console-job-running")

    # Cancel asks first: dismissing the question changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#cancel-job button")
    page.wait_for_timeout(300)
    assert SyncJob.objects.get(pk=job.pk).cancel_requested_at is None

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-job button")
    page.wait_for_selector("#job-cancelling, .field-status_badge :text('Cancelled')")
    assert page.locator("#cancel-job").count() == 0  # hidden once requested
    screenshot("console-cancel-requested")

    wait_for(lambda: SyncJob.objects.get(pk=job.pk).status == JobStatus.CANCELLED)
    page.wait_for_selector(".field-status_badge :text('Cancelled')", timeout=15_000)
    job.refresh_from_db()
    assert 0 < job.progress_done < 100_000
    screenshot("console-job-cancelled")


@needs_redis
def test_a_failed_import_shows_its_error_first_and_no_retry(
    page, staff_user, celery_worker, import_dir, screenshot
):
    (import_dir / "0123456789ab_no_title.csv").write_text("name,artist\nX,Y\n", encoding="utf-8")
    sign_in(page, staff_user, "/admin/sync/syncjob/start/")
    options = page.locator("#start-catalog_import select[name='catalog_import-path'] option")
    assert "no_title.csv (16 bytes, uploaded " in options.all_inner_texts()[1]
    page.locator("#start-catalog_import").screenshot(
        path=str(screenshot.folder / "console-start-a-job.png")
    )
    start_from_the_form(page, "catalog_import", {"path": "0123456789ab_no_title.csv"})
    page.wait_for_selector("#job-error", timeout=20_000)  # the page reloads when it ends
    banner = page.locator("#job-error")
    assert "Failed: import_file" in banner.inner_text() and "title" in banner.inner_text()
    assert banner.bounding_box()["y"] < page.locator("fieldset").first.bounding_box()["y"]
    assert page.get_by_role("button", name="Retry as a new job").count() == 0
    screenshot("console-import-failed")


@needs_redis
def test_an_import_with_bad_rows_is_a_warning_with_its_rows_in_a_table(
    page, staff_user, celery_worker, import_dir, screenshot
):
    rows = "title,artists,isrc\nGood One,A,\n,B,\nGood Two,C,XX\nGood Three,D,\n"
    (import_dir / "0123456789ab_some_bad.csv").write_text(rows, encoding="utf-8")
    sign_in(page, staff_user, "/admin/sync/syncjob/start/")
    start_from_the_form(page, "catalog_import", {"path": "0123456789ab_some_bad.csv"})
    page.wait_for_selector("#job-warning", timeout=20_000)
    assert "Succeeded with 2 errors" in page.locator("#job-warning").inner_text()
    lines = page.locator("#bad-rows tbody tr td:first-child").all_inner_texts()
    assert lines == ["3", "4"]
    screenshot("console-import-warning")

    page.goto("/admin/sync/syncjob/")
    badge = page.locator(".sync-status").first
    assert badge.inner_text() == "Succeeded with 2 errors"
    assert "sync-warning" in (badge.get_attribute("class") or "")
    for box in ("document.documentElement", "document.querySelector('#changelist .results')"):
        overflow = page.evaluate(f"{box}.scrollWidth - {box}.clientWidth")
        assert overflow <= 0, f"{box}: the job list is {overflow} px too wide for 1400 px"
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers[-3:]] == ["duration", "attempts", "started at"]
    screenshot("console-job-list")


DOCS_PAGES = [
    ("/api/docs/", ".swagger-ui .info .title"),
    ("/api/redoc/", "h1:has-text('Encore API')"),
]
# ReDoc's sidebar always tries Redocly's logo from their CDN and hides it when that fails: the
# one outside request the page makes, and nothing depends on it.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize(("url", "ready"), DOCS_PAGES)
def test_the_api_docs_render_with_no_network_but_encore(page, live_server, url, ready, screenshot):
    outside: list[str] = []

    def only_encore(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_encore)
    page.goto(url)
    page.wait_for_selector(ready, timeout=15_000)
    assert "Encore API" in page.locator(ready).inner_text()
    assert [request for request in outside if request != REDOC_LOGO] == []
    screenshot("api-docs" if url == "/api/docs/" else "api-redoc")
