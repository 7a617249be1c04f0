"""Text normalisation shared by indexing and querying, so both sides fold text the same way.

``normalize("Beyoncé – Halo (Live)") == "beyonce halo live"``: lower case, accents and
ligatures folded to ASCII where a reader would (ø→o, ß→ss, æ→ae), apostrophes dropped
(``don't`` → ``dont``), every other non-alphanumeric character a word break.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters NFKD does not decompose but that people type without their marks.
_TRANSLIT = str.maketrans(
    {
        "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss",
        "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th",
        "ı": "i", "’": "", "'": "", "`": "", "´": "",
        # also folded by PostgreSQL's unaccent rules, which index and query must agree with
        "ħ": "h", "Ħ": "h", "ŧ": "t", "Ŧ": "t", "ŋ": "n", "Ŋ": "n", "ƀ": "b", "ǥ": "g",
        "Ǥ": "g", "ɨ": "i",
    }
)  # fmt: skip
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize(text: str | None) -> str:
    if not text:
        return ""
    return _normalize(text)


# Artist and album names repeat across a catalog: a bounded cache saves most of the work.
@lru_cache(maxsize=65536)
def _normalize(text: str) -> str:
    text = text.translate(_TRANSLIT)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


# A symbol inside a name ("P!nk", "Ke$ha", "R.E.M.", "AC/DC", "will.i.am") is a word break to
# normalize(); people type such names without the symbols, joined ("acdc", "rem", "william")
# or with the letter the symbol stands for ("pink", "kesha").
_SYMBOL_WORD = re.compile(r"\w+(?:[^\w\s]+\w+)+[^\w\s]*|(?:\w[.])+\w?")
_LEET = str.maketrans({"$": "s", "!": "i", "@": "a", "+": "t", "3": "e", "0": "o"})


def symbol_spellings(text: str | None) -> list[str]:
    """The spellings without symbols of the words of ``text`` that symbols break up: each
    joined, and with the letters the symbols stand for (``P!nk`` -> ``pnk``, ``pink``)."""
    if not text:
        return []
    spellings: list[str] = []
    for match in _SYMBOL_WORD.finditer(text.replace("'", "").replace("’", "")):
        token = match.group()
        for variant in (token, token.translate(_LEET)):
            joined = "".join(normalize(variant).split())
            if joined and joined not in spellings:
                spellings.append(joined)
    return spellings


def searchable_artists(artist_names: str | None) -> str:
    """The artists' search column: the normalised names, then their spellings without
    symbols (``AC/DC`` is ``ac dc acdc``)."""
    norm = normalize(artist_names)
    extra = [s for s in symbol_spellings(artist_names) if s not in norm.split()]
    return " ".join([norm, *extra]) if extra else norm
