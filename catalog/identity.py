"""Song identity: which stored song a set of metadata is. Written here once, used by the import
(catalog.upsert), the model (``Song.assign_identity_key``) and, through the model, the admin.

A song is keyed by its Spotify id, else its ISRC, else its normalised title, main artist and
album. A key another song holds already (one with a different Spotify id or ISRC) is not taken
over: the new song gets the first free ``<key>#<n>`` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from catalog.normalize import normalize

# A song created without its artists yet (the admin adds them after the first save) holds a
# provisional key, replaced by its real one once the artists are known.
PROVISIONAL_PREFIX = "new:"


def spotify_key(spotify_id: str) -> str:
    return f"sp:{spotify_id}"


def isrc_key(isrc: str) -> str:
    return f"isrc:{isrc.upper()}"


def meta_key(title_norm: str, main_artist_norm: str, album_norm: str) -> str:
    """Identity by metadata, from the normalised title, main artist and album."""
    return f"meta:{title_norm}|{main_artist_norm}|{album_norm}"[:1200]


def identity_key_for(
    *, spotify_id: str | None, isrc: str | None, title: str, main_artist: str, album: str
) -> str:
    """A song's natural key: Spotify id, else ISRC, else metadata."""
    if spotify_id:
        return spotify_key(spotify_id)
    if isrc:
        return isrc_key(isrc)
    return meta_key(normalize(title), normalize(main_artist), normalize(album))


def free_key(key: str, *, taken: Callable[[str], bool]) -> str:
    """``key``, or when another song holds it the first of ``key#1``, ``key#2`` .. that none
    holds."""
    candidate, n = key, 1
    while taken(candidate):
        candidate, n = f"{key}#{n}", n + 1
    return candidate


def provisional_key() -> str:
    return f"{PROVISIONAL_PREFIX}{uuid.uuid4().hex}"


def is_provisional(key: str) -> bool:
    return key.startswith(PROVISIONAL_PREFIX)
