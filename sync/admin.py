"""The operations console for background jobs (healthchecks' ``hc/api/admin.py`` in spirit).

- Job list: kind, status, trigger, target, a progress bar, duration, attempts, started;
  filters that answer operator questions ("failed", "slower than 1 min", "active now");
  newest first; users loaded with ``select_related`` so the page costs the same few queries
  for 10 or 100 rows.
- Job detail: read-only, with parameters, result, error and every attempt.
- Actions: cancel and retry (selected rows, or the buttons on a job's page), a "Start a job"
  page with every registered kind's parameters, and "Import songs" (upload + catalog_import).
- Active jobs' progress bars poll a small JSON endpoint (pretix's progress view in spirit).

Every action calls the services of ``sync/services/``; nothing here holds a rule of its own.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from catalog.files import ImportFileError, detect_format
from core.exceptions import ApplicationError
from core.uploads import upload_refused
from sync.kinds import CatalogImportParams
from sync.models import ATTEMPT_FIELDS, JobStatus, JobTrigger, SyncJob, SyncJobAttempt
from sync.registry import JobKind, TargetPolicy, all_kinds, get_kind
from sync.selectors import jobs_active, jobs_progress, jobs_slower_than, with_run_time
from sync.services.import_files import import_upload_start
from sync.services.jobs import JobRequest, job_cancel, job_create, job_is_unsent, job_retry

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SLOW = timedelta(minutes=1)


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(kind.name, kind.label) for kind in all_kinds()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


class AttentionFilter(admin.SimpleListFilter):
    """The questions an operator opens the console with."""

    title = "show"
    parameter_name = "show"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("failed", "Failed"), ("slow", "Slower than 1 min"), ("active", "Active now")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
        match self.value():
            case "failed":
                return queryset.filter(status=JobStatus.FAILED)
            case "slow":
                return jobs_slower_than(queryset, SLOW)
            case "active":
                return jobs_active(queryset)
        return queryset


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


def _progress_bar(job: SyncJob) -> SafeString:
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
        job.status,
        percent if percent is not None else (100 if job.is_active else 0),
        label,
    )


def _duration(value: timedelta | None) -> str:
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


def _pretty_json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


@admin.register(SyncJob)
class SyncJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "status_badge",
        "trigger",
        "triggered_by",
        "target_user",
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
        ("Outcome", {"fields": ("error_code", "error_message", "result_pretty")}),
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

    def _can_operate(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would delete active jobs too
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        return with_run_time(super().get_queryset(request))

    # --- Columns -------------------------------------------------------------------------------
    @admin.display(description="status", ordering="status")
    def status_badge(self, job: SyncJob) -> SafeString:
        note = " (cancel requested)" if job.is_active and job.cancel_requested_at else ""
        if job_is_unsent(job):
            note = " (not sent: broker unavailable)"
        return format_html(
            '<span class="sync-status sync-{}" data-sync-status="{}">{}{}</span>',
            job.status,
            job.pk,
            job.get_status_display(),
            note,
        )

    @admin.display(description="progress")
    def progress(self, job: SyncJob) -> SafeString:
        return _progress_bar(job)

    @admin.display(description="duration", ordering="run_time")
    def duration(self, job: SyncJob) -> SafeString:
        return format_html(
            '<span data-sync-duration="{}">{}</span>', job.pk, _duration(job.duration)
        )

    @admin.display(description="parameters")
    def params_pretty(self, job: SyncJob) -> SafeString:
        return _pretty_json(job.params)

    @admin.display(description="result")
    def result_pretty(self, job: SyncJob) -> SafeString | str:
        return _pretty_json(job.result) if job.result else "—"

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
                    job=job, trigger=JobTrigger.ADMIN, triggered_by=_acting_user(request)
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

    # --- Pages: start, import, progress, per-job buttons ---------------------------------------
    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="sync_syncjob_start"),
            path("import-songs/", wrap(self.import_view), name="sync_syncjob_import"),
            path("progress/", wrap(self.progress_view), name="sync_syncjob_progress"),
            path("<int:job_id>/cancel/", wrap(self.cancel_view), name="sync_syncjob_cancel"),
            path("<int:job_id>/retry/", wrap(self.retry_view), name="sync_syncjob_retry"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"can_operate": self._can_operate(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        extra = {
            "can_operate": self._can_operate(request),
            "can_cancel": job is not None and job.is_active,
            "can_retry": job is not None and job.status in (JobStatus.FAILED, JobStatus.CANCELLED),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _require_operator(self, request: HttpRequest) -> None:
        if not self._can_operate(request):
            raise PermissionDenied

    def _announce(self, request: HttpRequest, result: JobRequest) -> HttpResponseRedirect:
        job = result.job
        job.refresh_from_db()  # the enqueue (on commit) may have flagged it
        if result.created and job_is_unsent(job):
            self.message_user(
                request,
                f"Job #{job.pk} ({job.kind}) is saved but NOT sent: {job.error_message}",
                messages.ERROR,
            )
        elif result.created:
            self.message_user(request, f"Started job #{job.pk} ({job.kind}).", messages.SUCCESS)
        else:
            self.message_user(
                request,
                f"A {job.kind} job is already active: #{job.pk} ({job.status}); "
                "showing it instead of starting another.",
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:sync_syncjob_change", args=[job.pk]))

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """GET: every registered kind with its parameter form. POST: start one kind."""
        self._require_operator(request)
        forms_by_kind: dict[str, forms.Form] = {}
        if request.method == "POST":
            try:
                kind = get_kind(request.POST.get("kind"))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:sync_syncjob_start"))
            form = _StartForm(kind, data=request.POST)
            if form.is_valid():
                try:
                    result = job_create(
                        kind=kind.name,
                        params=form.params(),
                        trigger=JobTrigger.ADMIN,
                        triggered_by=_acting_user(request),
                        target_user=form.cleaned_data.get("target_user"),
                    )
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    return self._announce(request, result)
            forms_by_kind[kind.name] = form
        entries = [
            {"kind": kind, "form": forms_by_kind.get(kind.name) or _StartForm(kind)}
            for kind in all_kinds()
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Start a job",
            "entries": entries,
        }
        return TemplateResponse(request, "admin/sync/syncjob/start.html", context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV / JSON Lines file and start a ``catalog_import`` job on it."""
        self._require_operator(request)
        form = ImportSongsForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and (refused := upload_refused(request)):
            form = ImportSongsForm(request.POST, request.FILES)  # bound, even if POST is empty
            form.is_valid()  # the file was dropped: say why beside the field
            form.add_error("file", refused)
        elif request.method == "POST" and form.is_valid():
            params = {key: form.cleaned_data[key] for key in ("fmt", "strict", "batch_size")}
            try:
                result = import_upload_start(
                    upload=form.cleaned_data["file"],
                    params=params,
                    trigger=JobTrigger.ADMIN,
                    triggered_by=_acting_user(request),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return self._announce(request, result)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import songs",
            "form": form,
        }
        return TemplateResponse(request, "admin/sync/syncjob/import_songs.html", context)

    def progress_view(self, request: HttpRequest) -> JsonResponse:
        """``?id=1&id=2`` → ``{"jobs": [{id, status, done, total, percent, …}]}``."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [int(v) for v in request.GET.getlist("id") if v.isdigit()][:200]
        return JsonResponse({"jobs": jobs_progress(ids=ids)})

    def cancel_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_operator(request)
        job = get_object_or_404(SyncJob, pk=job_id)
        try:
            job = job_cancel(job=job)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            if job.status == JobStatus.RUNNING:
                text = f"Job #{job.pk} will stop at its next batch boundary."
            else:
                text = f"Job #{job.pk} cancelled."
            self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:sync_syncjob_change", args=[job_id]))

    def retry_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_operator(request)
        job = get_object_or_404(SyncJob, pk=job_id)
        try:
            result = job_retry(
                job=job, trigger=JobTrigger.ADMIN, triggered_by=_acting_user(request)
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:sync_syncjob_change", args=[job_id]))
        return self._announce(request, result)


def _acting_user(request: HttpRequest) -> User:
    """The signed-in staff member acting: the admin site serves these views to no one else."""
    return cast("User", request.user)


class _StartForm(forms.Form):
    """A kind's parameter form, prefixed by the kind's name, plus the target user if it has one."""

    def __init__(self, kind: JobKind, data: QueryDict | None = None) -> None:
        super().__init__(data=data, prefix=kind.name)
        self.kind = kind
        self.param_names = list(kind.param_fields())
        for name, field in kind.param_fields().items():
            self.fields[name] = copy.deepcopy(field)
        if kind.target != TargetPolicy.NONE:
            from django.contrib.auth import get_user_model

            self.fields["target_user"] = forms.ModelChoiceField(
                queryset=get_user_model().objects.order_by("username"),
                required=kind.target == TargetPolicy.REQUIRED,
                widget=forms.NumberInput,
                help_text="The id of the user whose data the job works on.",
            )

    def params(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.param_names}


class ImportSongsForm(forms.Form):
    file = forms.FileField(help_text="CSV or JSON Lines, optionally gzipped.")
    fmt = CatalogImportParams.base_fields["fmt"]
    strict = CatalogImportParams.base_fields["strict"]
    batch_size = CatalogImportParams.base_fields["batch_size"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None and not cleaned.get("fmt") and not _format_known(upload.name or ""):
            self.add_error(
                "file",
                "Cannot tell the format from the name: choose one, or upload a "
                ".csv, .jsonl or .ndjson file (optionally .gz).",
            )
        return cleaned


def _format_known(name: str) -> bool:
    """Whether the import can tell a file's format from its name (catalog.files's rule)."""
    try:
        detect_format(Path(name), None)
    except ImportFileError:
        return False
    return True
