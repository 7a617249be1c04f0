"""The ``SyncJob`` admin: the job list, the read-only job page and the bulk actions.

- Job list: kind, status (a success with failed items is a warning), who started it and for
  whom, a progress bar, duration, attempts, started; newest first; users loaded with
  ``select_related`` so the page costs the same few queries for 10 or 100 rows. Active jobs'
  bars poll the progress endpoint (pretix's progress view in spirit).
- Job page: a failed job's error, or a warning, at the top; parameters, the result's figures,
  the bad rows as a table (line, reason) and every attempt. Cancel (confirmed, hidden once
  asked) and Retry (not offered when the failure is the input's own).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from core.exceptions import ApplicationError
from sync.admin import display
from sync.admin.filters import AttentionFilter, KindFilter
from sync.admin.pages import ConsolePagesMixin, acting_user
from sync.exceptions import failure_is_input
from sync.models import ATTEMPT_FIELDS, JobStatus, JobTrigger, SyncJob, SyncJobAttempt
from sync.selectors import with_run_time
from sync.services.jobs import job_cancel, job_retry


class SyncJobAttemptInline(admin.TabularInline):
    model = SyncJobAttempt
    extra = 0
    can_delete = False
    fields = ATTEMPT_FIELDS
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SyncJob)
class SyncJobAdmin(ConsolePagesMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "status_badge",
        "started_by",
        "progress",
        "duration",
        "attempts",
        "started_at",
    )
    list_display_links = ("id", "kind")
    list_filter = (KindFilter, "status", AttentionFilter, "trigger")
    list_select_related = ("triggered_by", "target_user")
    search_fields = ("=id", "kind", "celery_task_id", "error_code")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) fewer on a large table
    actions = ("cancel_jobs", "retry_jobs")
    inlines = (SyncJobAttemptInline,)
    fieldsets = (
        (None, {"fields": ("kind", "status_badge", "progress", "links")}),
        (
            "Outcome",
            {"fields": ("error_code", "error_message", "result_summary", "bad_rows")},
        ),
        (
            "Request",
            {"fields": ("trigger", "triggered_by", "target_user", "params_pretty")},
        ),
        (
            "Run",
            {
                "fields": (
                    "attempts",
                    "spotify_calls",
                    "created_at",
                    "started_at",
                    "heartbeat_at",
                    "next_attempt_at",
                    "cancel_requested_at",
                    "finished_at",
                    "duration",
                    "celery_task_id",
                )
            },
        ),
    )
    # Everything on the job page is read-only: the record is written by the framework.
    readonly_fields = tuple(flatten_fieldsets(fieldsets))

    # --- Permissions: the record is written by the framework only ---------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are started from "Start a job", which validates the kind

    def has_change_permission(self, request: HttpRequest, obj: SyncJob | None = None) -> bool:
        # A job's page is read-only; the model-level permission still gates the actions.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: SyncJob | None = None) -> bool:
        if obj is not None and obj.is_active:
            return False  # cancel it first; deleting would orphan a running worker
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would delete active jobs too
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        return with_run_time(super().get_queryset(request))

    # --- Columns and fields --------------------------------------------------------------------
    @admin.display(description="status", ordering="status")
    def status_badge(self, job: SyncJob) -> SafeString:
        return display.status_badge(job)

    @admin.display(description="started by", ordering="trigger")
    def started_by(self, job: SyncJob) -> SafeString:
        """The trigger and who pulled it, and the user the job is for (one column, not three:
        the list fits a 1400 px window)."""
        who = job.triggered_by.get_username() if job.triggered_by else ""
        text = f"{job.get_trigger_display()}: {who}" if who else job.get_trigger_display()
        if job.target_user is None:
            return format_html("{}", text)
        return format_html("{}<br><small>for {}</small>", text, job.target_user.get_username())

    @admin.display(description="progress")
    def progress(self, job: SyncJob) -> SafeString:
        return display.progress_bar(job)

    @admin.display(description="duration", ordering="run_time")
    def duration(self, job: SyncJob) -> SafeString:
        return format_html(
            '<span data-sync-duration="{}">{}</span>', job.pk, display.duration_text(job.duration)
        )

    @admin.display(description="parameters")
    def params_pretty(self, job: SyncJob) -> SafeString:
        return display.pretty_json(job.params)

    @admin.display(description="result")
    def result_summary(self, job: SyncJob) -> SafeString | str:
        return display.result_summary(job.result)

    @admin.display(description="bad rows")
    def bad_rows(self, job: SyncJob) -> SafeString | str:
        return display.row_errors(job)

    @admin.display(description="linked jobs")
    def links(self, job: SyncJob) -> SafeString | str:
        parts: list[SafeString] = []
        if job.retry_of_id:
            parts.append(
                format_html(
                    'Retry of <a href="{}">#{}</a>',
                    reverse("admin:sync_syncjob_change", args=[job.retry_of_id]),
                    job.retry_of_id,
                )
            )
        for retry in job.retries.all():
            parts.append(
                format_html(
                    'Retried as <a href="{}">#{}</a> ({})',
                    reverse("admin:sync_syncjob_change", args=[retry.pk]),
                    retry.pk,
                    retry.get_status_display(),
                )
            )
        return format_html_join(mark_safe("<br>"), "{}", ((part,) for part in parts)) or "—"

    # --- Bulk actions --------------------------------------------------------------------------
    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        now_cancelled = stopping = finished = 0
        for job in queryset:
            try:
                job = job_cancel(job=job)
            except ApplicationError:
                finished += 1
                continue
            if job.status == JobStatus.RUNNING:
                stopping += 1
            else:
                now_cancelled += 1
        self.message_user(
            request,
            f"Cancelled {now_cancelled}; {stopping} running will stop at their next batch; "
            f"{finished} had already finished.",
            messages.SUCCESS if now_cancelled or stopping else messages.WARNING,
        )

    @admin.action(description="Retry selected jobs (failed or cancelled)", permissions=["change"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        started = active = refused = 0
        problems: list[str] = []
        for job in queryset:
            try:
                result = job_retry(
                    job=job, trigger=JobTrigger.ADMIN, triggered_by=acting_user(request)
                )
            except ApplicationError as exc:
                refused += 1
                problems.append(f"#{job.pk}: {exc.message}")
                continue
            if result.created:
                started += 1
            else:
                active += 1
        text = f"Started {started} retries; {active} already had an active job; {refused} refused."
        if problems:
            text += " " + " ".join(problems[:5])
        self.message_user(request, text, messages.SUCCESS if started else messages.WARNING)

    # --- Pages ---------------------------------------------------------------------------------
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"can_operate": self.can_operate(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        finished_badly = job is not None and job.status in (JobStatus.FAILED, JobStatus.CANCELLED)
        input_failure = job is not None and failure_is_input(job.error_code)
        extra = {
            "can_operate": self.can_operate(request),
            "job": job,
            # Cancel is offered once: hidden when already asked (the job stops at a boundary).
            "can_cancel": job is not None and job.is_active and not job.cancel_requested_at,
            "can_retry": finished_badly and not input_failure,
            "input_failure": input_failure,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=extra)
