"""One parser per rule: the words that mean yes and no, Spotify ids and URIs, ISRCs.

Import records, job parameters, API filters and the Spotify client all read these values; each
rule is written here once so that every way in accepts the same spellings.
"""

from __future__ import annotations

import re

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})

# Spotify's base-62 ids (tracks, albums, artists, playlists, episodes) are 22 characters.
# User ids are not: they are account names and are never checked against this.
SPOTIFY_ID_PATTERN = r"[0-9A-Za-z]{22}"
_SPOTIFY_ID = re.compile(SPOTIFY_ID_PATTERN)
_SPOTIFY_URI = re.compile(rf"spotify:(track|album|artist|playlist|episode):({SPOTIFY_ID_PATTERN})")

# ISO 3901: country (2 letters), registrant (3 letters/digits), year (2 digits), number (5).
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")


def parse_bool(value: object) -> bool | None:
    """A yes/no value: a bool as it is, a word of TRUE_WORDS/FALSE_WORDS (any case, spaces
    around ignored), None for None or blank text. Raises ValueError for anything else."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not true or false")


def is_spotify_id(value: object) -> bool:
    """True for a 22-character base-62 Spotify id."""
    return isinstance(value, str) and _SPOTIFY_ID.fullmatch(value) is not None


def is_spotify_uri(value: object, *, kind: str) -> bool:
    """True for ``spotify:<kind>:<id>`` with a well-formed id."""
    if not isinstance(value, str):
        return False
    match = _SPOTIFY_URI.fullmatch(value)
    return match is not None and match.group(1) == kind


def parse_isrc(value: str) -> str:
    """The ISRC in its stored form (upper case, no hyphens or spaces around). Raises ValueError
    when it is not one."""
    isrc = value.strip().replace("-", "").upper()
    if not _ISRC.fullmatch(isrc):
        raise ValueError(f"{value!r} is not a valid ISRC")
    return isrc
