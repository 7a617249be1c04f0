"""How the console shows a job: status badge, progress bar, durations, result and bad rows."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from sync.models import SyncJob
from sync.services.jobs import job_is_unsent

# Result keys shown as tables of their own rather than in the summary.
ROW_ERRORS_KEY = "errors"


def status_badge(job: SyncJob) -> SafeString:
    note = " (cancel requested)" if job.is_active and job.cancel_requested_at else ""
    if job_is_unsent(job):
        note = " (not sent: broker unavailable)"
    return format_html(
        '<span class="sync-status sync-{}" data-sync-status="{}">{}{}</span>',
        job.state,
        job.pk,
        job.state_label,
        note,
    )


def progress_bar(job: SyncJob) -> SafeString:
    percent = job.progress_percent
    if job.progress_total is not None:
        label = f"{job.progress_done:,} / {job.progress_total:,}"
    else:
        label = f"{job.progress_done:,}"
    if job.progress_failed:
        label += f" ({job.progress_failed:,} failed)"
    return format_html(
        '<div class="sync-progress" data-sync-job="{}" data-active="{}" title="{}">'
        '<div class="sync-progress-bar sync-{}" style="width: {}%"></div>'
        '<span class="sync-progress-label">{}</span></div>',
        job.pk,
        "1" if job.is_active else "0",
        f"{percent}%" if percent is not None else "total not known yet",
        job.state,
        percent if percent is not None else (100 if job.is_active else 0),
        label,
    )


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{value.total_seconds():.1f} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def pretty_json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


def result_summary(result: dict[str, Any] | None) -> SafeString | str:
    """The result's figures as a two-column table; the bad rows are shown by ``row_errors``."""
    if not result:
        return "—"
    rows = [(key, value) for key, value in result.items() if key != ROW_ERRORS_KEY]
    if not rows:
        return "—"
    return format_html(
        '<table class="sync-result"><tbody>{}</tbody></table>',
        format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((key.replace("_", " "), _cell(value)) for key, value in rows),
        ),
    )


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return pretty_json(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def row_errors(job: SyncJob) -> SafeString | str:
    """The bad rows a job reported (``result["errors"]``: line, reason) as a table."""
    errors = (job.result or {}).get(ROW_ERRORS_KEY) or []
    if not errors:
        return "—"
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td></tr>",
        ((error.get("line", "—"), error.get("reason", "")) for error in errors),
    )
    more = ""
    if (job.result or {}).get("errors_truncated"):
        more = format_html(
            '<p class="help">Only the first {} bad rows are kept; {} in all.</p>',
            f"{len(errors):,}",
            f"{job.progress_failed:,}",
        )
    return format_html(
        '<table class="sync-row-errors" id="bad-rows"><thead><tr><th>Line</th><th>Reason</th>'
        "</tr></thead><tbody>{}</tbody></table>{}",
        body,
        more,
    )
