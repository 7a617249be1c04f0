"""Admin for users' libraries: the connections console and read-only playlists and plays.

The Spotify connection admin (spotify_integration.admin) is extended here rather than there:
the library sits above the integration, which knows nothing of playlists or plays. Token
columns are never listed or shown (the base admin's ``fields`` leave them out).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.exceptions import ApplicationError
from library.forms import HistoryUploadForm
from library.models import LibrarySyncState, Play, PlayGap, Playlist, PlaylistItem
from library.services.history import import_history
from library.services.requests import request_sync
from spotify_integration.admin import SpotifyConnectionAdmin
from spotify_integration.models import ConnectionStatus, SpotifyConnection, add_months
from spotify_integration.selectors import connection_health
from sync.models import JobTrigger


def _count_of(model: type[Play] | type[PlayGap], **where: Any) -> Coalesce:
    """A per-connection count as a subquery: no join, so two counts never multiply."""
    rows = (
        model.objects.filter(connection=OuterRef("pk"), **where)
        .order_by()
        .values("connection")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _authorized_before_expiry_within(days: int) -> datetime:
    """Connections authorized before this expire within ``days`` (a day's slack: months vary)."""
    return add_months(timezone.now() + timedelta(days=days + 1), -6)


class HealthFilter(admin.SimpleListFilter):
    """The operator's questions: who must connect again, who soon, whose syncs fail."""

    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("needs_reauth", "Needs reauth"),
            ("expired", "Expired (6 months)"),
            ("expiring", "Expiring soon"),
            ("failing", "Sync failing"),
            ("profile_pending", "Profile pending"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value == "failing":
            return queryset.filter(
                ~Q(library_state__plays_error="") | ~Q(library_state__playlists_error="")
            )
        if value == "needs_reauth":
            return queryset.filter(
                ~Q(status=ConnectionStatus.ACTIVE) | Q(refresh_token_encrypted="")
            )
        if value in ("expired", "expiring", "profile_pending"):
            # Narrowed in SQL, then decided by the one rule (connection_health) on the rest.
            candidates = queryset
            if value != "profile_pending":
                days = settings.SPOTIFY_EXPIRY_WARNING_DAYS if value == "expiring" else 0
                candidates = queryset.filter(
                    authorized_at__lte=_authorized_before_expiry_within(days)
                )
            ids = [c.pk for c in candidates if connection_health(c).state == value]
            return queryset.filter(pk__in=ids)
        return None


def _staff(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in staff member behind an admin view (the admin site admits no one else)."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    return user


class LibraryConnectionAdmin(SpotifyConnectionAdmin):
    list_display = (
        "user",
        "display_name",
        "account_id",
        "health",
        "refresh_token_expires_at",
        "plays_synced_at",
        "playlists_synced_at",
        "last_sync_error",
        "plays_count",
        "open_gaps_count",
        "token_stored",
    )
    list_filter = (HealthFilter, "status")
    list_select_related = ("user", "library_state")
    readonly_fields = (
        *SpotifyConnectionAdmin.fields,
        "health",
        "plays_synced_at",
        "playlists_synced_at",
        "last_sync_error",
        "plays_count",
        "open_gaps_count",
        "history_upload",
    )
    fields = readonly_fields
    actions = ("sync_plays_now", "sync_playlists_now", *SpotifyConnectionAdmin.actions)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SpotifyConnection]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                plays_total=_count_of(Play),
                open_gaps_total=_count_of(PlayGap, filled_at__isnull=True),
            )
        )

    @admin.display(description="Health")
    def health(self, obj: SpotifyConnection) -> str:
        health = connection_health(obj)
        return f"{health.state}: {health.reason}" if health.reason else health.state

    def _state(self, obj: SpotifyConnection) -> LibrarySyncState | None:
        try:
            return obj.library_state
        except LibrarySyncState.DoesNotExist:
            return None

    @admin.display(description="Plays synced")
    def plays_synced_at(self, obj: SpotifyConnection) -> datetime | None:
        state = self._state(obj)
        return state.plays_synced_at if state else None

    @admin.display(description="Playlists synced")
    def playlists_synced_at(self, obj: SpotifyConnection) -> datetime | None:
        state = self._state(obj)
        return state.playlists_synced_at if state else None

    @admin.display(description="Last error")
    def last_sync_error(self, obj: SpotifyConnection) -> str:
        state = self._state(obj)
        errors = [
            f"{what}: {text}"
            for what, text in (
                ("plays", state.plays_error if state else ""),
                ("playlists", state.playlists_error if state else ""),
                ("skipped", state.skipped_reason if state else ""),
                ("connection", obj.last_error),
            )
            if text
        ]
        return "; ".join(errors) or "—"

    @admin.display(description="Plays", ordering="plays_total")
    def plays_count(self, obj: SpotifyConnection) -> int:
        return int(getattr(obj, "plays_total", 0))

    @admin.display(description="Open gaps", ordering="open_gaps_total")
    def open_gaps_count(self, obj: SpotifyConnection) -> int:
        return int(getattr(obj, "open_gaps_total", 0))

    @admin.display(description="Streaming history")
    def history_upload(self, obj: SpotifyConnection) -> str:
        url = reverse("admin:library_connection_history", args=[obj.pk])
        return format_html('<a href="{}">Import the user\'s streaming history export…</a>', url)

    # Starting a sync adds a job: staff who may add jobs get the actions, view-only staff not.
    def has_sync_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("sync.add_syncjob"))

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "<int:connection_id>/history/",
            self.admin_site.admin_view(self.history_upload_view),
            name="library_connection_history",
        )
        return [upload, *super().get_urls()]

    def history_upload_view(self, request: HttpRequest, connection_id: int) -> HttpResponse:
        """Staff upload a user's export for them: the same service as the user's own upload."""
        if not self.has_sync_permission(request):
            raise PermissionDenied
        connection = get_object_or_404(SpotifyConnection, pk=connection_id)
        form = HistoryUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = import_history(
                    connection,
                    form.cleaned_data["history_files"],
                    triggered_by=_staff(request),
                    trigger=JobTrigger.ADMIN,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request, f"Started job #{job.pk} importing the history.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:sync_syncjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import streaming history",
            "connection": connection,
            "form": form,
        }
        return TemplateResponse(request, "admin/library/history_upload.html", context)

    def _sync(self, request: HttpRequest, queryset: QuerySet[SpotifyConnection], what: str) -> None:
        for connection in queryset.select_related("user"):
            name = connection.display_name or connection.account_id or f"#{connection.pk}"
            try:
                requests = request_sync(
                    connection, what, triggered_by=_staff(request), trigger=JobTrigger.ADMIN
                )
            except ApplicationError as exc:
                self.message_user(request, f"{name}: not synced: {exc.message}", messages.WARNING)
                continue
            said = ", ".join(f"job #{r.job.pk} ({r.job.status})" for r in requests)
            self.message_user(request, f"{name}: {what} sync {said}.", messages.SUCCESS)

    @admin.action(description="Sync plays now", permissions=["sync"])
    def sync_plays_now(self, request: HttpRequest, queryset: QuerySet[SpotifyConnection]) -> None:
        self._sync(request, queryset, "plays")

    @admin.action(description="Sync playlists now", permissions=["sync"])
    def sync_playlists_now(
        self, request: HttpRequest, queryset: QuerySet[SpotifyConnection]
    ) -> None:
        self._sync(request, queryset, "playlists")


admin.site.unregister(SpotifyConnection)
admin.site.register(SpotifyConnection, LibraryConnectionAdmin)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the sync jobs only: viewable and searchable, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PlaylistItemInline(admin.TabularInline):
    model = PlaylistItem
    fields = ("position", "kind", "name", "artist_names", "song", "added_at", "added_by")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlaylistItem]:
        return super().get_queryset(request).select_related("song")


@admin.register(Playlist)
class PlaylistAdmin(_ReadOnlyAdmin):
    list_display = (
        "name",
        "connection",
        "owner_name",
        "item_count",
        "items_readable",
        "collaborative",
        "synced_at",
    )
    list_filter = ("items_readable", "collaborative", "public")
    search_fields = ("name", "spotify_id", "owner_name", "connection__user__username")
    list_select_related = ("connection", "connection__user")
    inlines = (PlaylistItemInline,)
    raw_id_fields = ("connection",)


@admin.register(Play)
class PlayAdmin(_ReadOnlyAdmin):
    list_display = ("played_at", "connection", "song", "track_id", "context_type", "source")
    list_filter = ("source", "context_type")
    search_fields = ("track_id", "song__title", "song__artist_names", "connection__user__username")
    list_select_related = ("connection", "connection__user", "song")
    date_hierarchy = "played_at"
    raw_id_fields = ("connection", "song")
    show_full_result_count = False  # plays grow large: no COUNT(*) of the whole table


@admin.register(PlayGap)
class PlayGapAdmin(_ReadOnlyAdmin):
    list_display = ("connection", "start", "end", "found_at", "filled_at", "filled_plays")
    list_filter = (("filled_at", admin.EmptyFieldListFilter),)
    search_fields = ("connection__user__username",)
    list_select_related = ("connection", "connection__user")
