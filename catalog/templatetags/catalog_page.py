"""Template filters of the search page."""

from __future__ import annotations

from typing import Any

from django import template

from catalog.records import duration_text

register = template.Library()


@register.filter
def duration(ms: Any) -> str:
    """Milliseconds as m:ss (``354000`` → ``5:54``); empty when unknown."""
    if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
        return ""
    return duration_text(ms)


@register.filter
def artist_names(artists: Any) -> str:
    """The names of a song's artists, comma-separated."""
    if not isinstance(artists, list):
        return ""
    return ", ".join(str(a.get("name", "")) for a in artists if isinstance(a, dict))
