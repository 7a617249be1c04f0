"""The console's own pages, mixed into the ``SyncJob`` admin: start a job, import songs, the
progress endpoint the bars poll, and the job page's Cancel and Retry buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from core.exceptions import ApplicationError
from core.uploads import upload_refused
from sync.admin.forms import ImportSongsForm, StartForm
from sync.models import JobStatus, JobTrigger, SyncJob
from sync.registry import all_kinds, get_kind
from sync.selectors import jobs_progress
from sync.services.import_files import import_upload_start
from sync.services.jobs import JobRequest, job_cancel, job_create, job_is_unsent, job_retry

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    _Base = admin.ModelAdmin[SyncJob]
else:
    _Base = object


def acting_user(request: HttpRequest) -> User:
    """The signed-in staff member acting: the admin site serves these views to no one else."""
    return cast("User", request.user)


def _job_page(job_id: int) -> str:
    return reverse("admin:sync_syncjob_change", args=[job_id])


class ConsolePagesMixin(_Base):
    def can_operate(self, request: HttpRequest) -> bool:
        """Whether the user may start, cancel and retry jobs (the model's change permission)."""
        return admin.ModelAdmin.has_change_permission(self, request)

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

    def _require_operator(self, request: HttpRequest) -> None:
        if not self.can_operate(request):
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
        elif result.created and job.is_active:
            self.message_user(
                request,
                f"Started job #{job.pk} ({job.kind}); its progress is shown below.",
                messages.SUCCESS,
            )
        elif result.created:
            # Eager tasks (no worker): the job ran inside this request and has finished.
            self.message_user(
                request,
                f"Job #{job.pk} ({job.kind}) ran in the web process and {job.status}.",
                messages.SUCCESS if job.status == JobStatus.SUCCEEDED else messages.WARNING,
            )
        else:
            self.message_user(
                request,
                f"A {job.kind} job is already active: #{job.pk} ({job.status}); "
                "showing it instead of starting another.",
                messages.WARNING,
            )
        return HttpResponseRedirect(_job_page(job.pk))

    def _page(self, request: HttpRequest, template: str, title: str, **context: Any):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **context,
        }
        return TemplateResponse(request, f"admin/sync/syncjob/{template}", context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """GET: every registered kind with its parameter form. POST: start one kind."""
        self._require_operator(request)
        forms_by_kind: dict[str, StartForm] = {}
        if request.method == "POST":
            try:
                kind = get_kind(request.POST.get("kind"))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:sync_syncjob_start"))
            form = StartForm(kind, data=request.POST)
            if form.is_valid():
                try:
                    result = job_create(
                        kind=kind.name,
                        params=form.params(),
                        trigger=JobTrigger.ADMIN,
                        triggered_by=acting_user(request),
                        target_user=form.cleaned_data.get("target_user"),
                    )
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                else:
                    return self._announce(request, result)
            forms_by_kind[kind.name] = form
        entries = [
            {"kind": kind, "form": forms_by_kind.get(kind.name) or StartForm(kind)}
            for kind in all_kinds()
        ]
        return self._page(request, "start.html", "Start a job", entries=entries)

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
                    triggered_by=acting_user(request),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return self._announce(request, result)
        return self._page(request, "import_songs.html", "Import songs", form=form)

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
        return HttpResponseRedirect(_job_page(job_id))

    def retry_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_operator(request)
        job = get_object_or_404(SyncJob, pk=job_id)
        try:
            result = job_retry(job=job, trigger=JobTrigger.ADMIN, triggered_by=acting_user(request))
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(_job_page(job_id))
        return self._announce(request, result)
