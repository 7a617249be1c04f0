"""The song admin's "Add from Spotify" page: a staff member pastes a track's id, URI or link
and the song is added through ``song_add_from_spotify`` (the API's service). Needs
``catalog.add_song``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from catalog.enrichment.add import song_add_from_spotify
from core.exceptions import ApplicationError, RateLimited
from core.parsing import SPOTIFY_ID_PATTERN

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin
    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern

    _AdminBase = ModelAdmin[Any]
else:
    _AdminBase = object

# An id, a spotify:track: URI or an open.spotify.com track link (any locale prefix or query).
_TRACK = re.compile(
    rf"^(?:spotify:track:|https?://open\.spotify\.com/(?:[\w-]+/)?track/)?"
    rf"({SPOTIFY_ID_PATTERN})(?:[?#].*)?$"
)


class AddFromSpotifyForm(forms.Form):
    track = forms.CharField(
        label="Spotify track",
        max_length=200,
        help_text="The track's id, its spotify:track: URI or its open.spotify.com link.",
        widget=forms.TextInput(attrs={"size": 60, "autofocus": True}),
    )

    def clean_track(self) -> str:
        match = _TRACK.fullmatch(self.cleaned_data["track"].strip())
        if match is None:
            raise forms.ValidationError("Not a Spotify track id, URI or link.")
        return match.group(1)


class AddFromSpotifyMixin(_AdminBase):
    """For ``SongAdmin``: the page, its URL and the changelist's link to it."""

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "add-from-spotify/", wrap(self.add_from_spotify_view),
                name="catalog_song_add_from_spotify",
            ),
            *super().get_urls(),
        ]  # fmt: skip

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"can_add_from_spotify": self.has_add_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def add_from_spotify_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):  # catalog.add_song
            raise PermissionDenied
        form = AddFromSpotifyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                song, created = song_add_from_spotify(
                    spotify_id=form.cleaned_data["track"], user=request.user
                )
            except ApplicationError as exc:
                wait = f" Try again in {exc.retry_after} s." if isinstance(exc, RateLimited) else ""
                form.add_error(None, f"Spotify: {exc.message}{wait}")
            else:
                what = "Added from Spotify" if created else "Already in the catalog"
                messages.success(request, f"{what}: “{song.title}” by {song.artist_names}.")
                return redirect(reverse("admin:catalog_song_change", args=[song.pk]))
        return TemplateResponse(
            request,
            "admin/catalog/song/add_from_spotify.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Add a song from Spotify",
                "form": form,
            },
        )
