"""The review queue: songs whose Spotify match needs a person, their candidates side by side.

The list shows each song with its best candidate (from ``SongMatch.evidence``, read with the
song in the list's one query); the review page puts the song and every candidate in columns
(title, artists, album, year, duration and its difference, ISRC and whether it agrees, score
and its parts) with an Accept button per candidate and Reject all. Bulk actions accept each
song's best candidate or reject all. Deciding needs ``catalog.change_songreview``; every
decision goes through ``song_match_accept`` / ``song_match_reject``, which record who decided.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from catalog.enrichment.match import song_match_accept, song_match_reject
from catalog.models import MatchStatus, Song, SongReview
from catalog.records import duration_text
from core.exceptions import ApplicationError

# Confidence bands an operator works through: near misses first.
BANDS = {
    "high": ("0.75 and above", Q(match_confidence__gte=0.75)),
    "mid": ("0.65 to 0.75", Q(match_confidence__gte=0.65, match_confidence__lt=0.75)),
    "low": ("below 0.65", Q(match_confidence__lt=0.65)),
    "none": ("unknown", Q(match_confidence__isnull=True)),
}


class ConfidenceBandFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "confidence"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _q) in BANDS.items()]

    def queryset(self, request: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
        band = BANDS.get(self.value() or "")
        return queryset.filter(band[1]) if band else queryset


def _evidence(song: Song) -> dict[str, Any]:
    """The stored evidence ({} for a song put in review by hand, without a decision row)."""
    try:
        match = song.match
    except Song.match.RelatedObjectDoesNotExist:
        return {}
    return dict(match.evidence or {})


def _candidates(song: Song) -> list[dict[str, Any]]:
    return list(_evidence(song).get("candidates") or [])


def _duration(ms: int | None) -> str:
    return "—" if ms is None else duration_text(ms)


def _diff(ms: int | None) -> str:
    if ms is None:
        return "—"
    return f"{'+' if ms >= 0 else '−'}{abs(ms) / 1000:.1f} s"


def _isrc_agreement(agrees: bool | None) -> str:
    return {True: "agrees", False: "differs", None: "—"}[agrees]


@admin.register(SongReview)
class SongReviewAdmin(admin.ModelAdmin):
    list_display = [
        "title", "artist_names", "album", "confidence", "best_candidate", "candidate_count",
        "decided_at",
    ]  # fmt: skip
    list_filter = [ConfidenceBandFilter, ("artists", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "artist_names", "album__title"]
    search_help_text = "Title, artists, album"
    ordering = ["-match_confidence", "id"]
    actions = ["accept_best", "reject_all"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[SongReview]:
        return (
            super()
            .get_queryset(request)
            .filter(match_status=MatchStatus.NEEDS_REVIEW)
            .select_related("album", "match")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # -- list columns --

    @admin.display(description="confidence", ordering="match_confidence")
    def confidence(self, song: SongReview) -> str:
        return "—" if song.match_confidence is None else f"{song.match_confidence:.2f}"

    @admin.display(description="best candidate")
    def best_candidate(self, song: SongReview) -> str:
        candidates = _candidates(song)
        if not candidates:
            return "—"
        best = candidates[0]
        return (
            f"{best.get('title')} — {', '.join(best.get('artists') or [])} "
            f"({_diff(best.get('duration_diff_ms'))}, ISRC "
            f"{_isrc_agreement(best.get('isrc_agrees'))}, {best.get('score', 0):.2f})"
        )

    @admin.display(description="candidates")
    def candidate_count(self, song: SongReview) -> int:
        return len(_candidates(song))

    @admin.display(description="decided", ordering="match__decided_at")
    def decided_at(self, song: SongReview) -> Any:
        try:
            return song.match.decided_at
        except Song.match.RelatedObjectDoesNotExist:
            return None

    # -- bulk actions --

    @admin.action(description="Accept each song's best candidate", permissions=["change"])
    def accept_best(self, request: HttpRequest, queryset: QuerySet[SongReview]) -> None:
        accepted, skipped = 0, 0
        for song in queryset:
            candidates = _candidates(song)
            if not candidates:
                skipped += 1
                continue
            try:
                song_match_accept(
                    song=song, spotify_id=candidates[0]["spotify_id"], user=request.user
                )
                accepted += 1
            except ApplicationError:
                skipped += 1
        self.message_user(request, f"Accepted {accepted} match(es).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped}: no candidate, or its Spotify track belongs to another song.",
                messages.WARNING,
            )

    @admin.action(description="Reject all candidates (not on Spotify)", permissions=["change"])
    def reject_all(self, request: HttpRequest, queryset: QuerySet[SongReview]) -> None:
        count = 0
        for song in queryset:
            song_match_reject(song=song, user=request.user)
            count += 1
        self.message_user(request, f"Rejected the candidates of {count} song(s).")

    # -- the review page --

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        song = self.get_object(request, object_id)  # None for a malformed or unknown id
        if song is None:
            raise Http404("No song in review with that id.")
        if not self.has_view_or_change_permission(request, song):
            raise PermissionDenied
        if request.method == "POST":
            return self._decide(request, song)
        return TemplateResponse(
            request,
            "admin/catalog/songreview/review.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Review: {song}",
                "song": song,
                "queries": _evidence(song).get("queries") or [],
                "rows": self._rows(song),
                "candidates": _candidates(song),
                "can_decide": self.has_change_permission(request, song),
                **(extra_context or {}),
            },
        )

    def _rows(self, song: Song) -> list[tuple[str, str, list[str]]]:
        """(label, the local song's value, each candidate's value) for the side-by-side table."""
        local = _evidence(song).get("local") or {}
        cands = _candidates(song)

        def each(fn: Any) -> list[str]:
            return [str(fn(c)) for c in cands]

        return [
            ("Title", local.get("title") or song.title, each(lambda c: c.get("title"))),
            ("Artists", ", ".join(local.get("artists") or []) or song.artist_names,
             each(lambda c: ", ".join(c.get("artists") or []))),
            ("Album", local.get("album") or "—", each(lambda c: c.get("album") or "—")),
            ("Year", local.get("year") or "—", each(lambda c: c.get("year") or "—")),
            ("Duration", _duration(local.get("duration_ms")),
             each(lambda c: _duration(c.get("duration_ms")))),
            ("Duration difference", "", each(lambda c: _diff(c.get("duration_diff_ms")))),
            ("ISRC", local.get("isrc") or "—", each(lambda c: c.get("isrc") or "—")),
            ("ISRC agreement", "", each(lambda c: _isrc_agreement(c.get("isrc_agrees")))),
            ("Score", "", each(lambda c: f"{c.get('score', 0):.3f}")),
            ("Parts", "", each(lambda c: ", ".join(
                f"{k} {v:.2f}" for k, v in sorted((c.get("parts") or {}).items())))),
            ("Notes", "", each(lambda c: "; ".join(c.get("notes") or []) or "—")),
        ]  # fmt: skip

    def _decide(self, request: HttpRequest, song: SongReview) -> HttpResponse:
        if not self.has_change_permission(request, song):
            raise PermissionDenied
        try:
            if "reject" in request.POST:
                song_match_reject(song=song, user=request.user)
                self.message_user(request, f"“{song}”: every candidate rejected.")
            else:
                spotify_id = request.POST.get("accept", "")
                song_match_accept(song=song, spotify_id=spotify_id, user=request.user)
                self.message_user(request, f"“{song}”: matched to {spotify_id}.")
        except ApplicationError as exc:
            self.message_user(request, f"“{song}”: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:catalog_songreview_changelist"))
