"""Reading track titles and artist credits the way matching needs them.

A title is split into its base (``"Halo"``), the featured artists it names
(``"(feat. Jay-Z)"``) and its version words (``"- Live at Wembley"``, ``"(Remastered 2011)"``).
Version words sort into kinds (live, remix, acoustic, ...) because two recordings of one song
differ exactly there; a remaster keeps its year, since a remaster of another year is another
master. Everything compares in ``catalog.normalize``'s folding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.normalize import normalize

# Words that make another recording of the same song. Matched against whole normalized words;
# multi-word phrases as they appear after normalisation.
VERSION_WORDS: dict[str, tuple[str, ...]] = {
    "live": ("live", "en vivo", "ao vivo", "en directo", "en vivo", "unplugged", "in concert"),
    "remix": ("remix", "remixed", "rmx", "club mix", "extended mix", "dub mix", "vip mix"),
    "acoustic": ("acoustic", "acustico", "akustik", "stripped"),
    "karaoke": ("karaoke", "originally performed by", "in the style of", "made famous by",
                "backing track", "sing along"),
    "instrumental": ("instrumental", "a cappella", "acapella", "playback"),
    "demo": ("demo", "rehearsal", "outtake", "early version", "alternate take", "take"),
    "tribute": ("tribute", "cover", "covers", "cover version", "as made famous"),
    "orchestral": ("orchestral", "symphonic", "piano version", "lullaby", "string quartet"),
    "speed": ("sped up", "slowed", "nightcore", "reverb", "8d audio"),
    "edit": ("radio edit", "single edit", "edit", "extended version", "extended"),
    "rerecorded": ("re recorded", "rerecorded", "taylors version", "new version", "re record"),
}  # fmt: skip
# Kinds whose words are telling anywhere in a title, not only in its version part: nobody
# names a song "Karaoke" by accident often enough to matter, but "Live Forever" is common.
ANYWHERE = frozenset({"karaoke", "instrumental", "remix", "tribute"})
ANYWHERE_WORDS = frozenset({"karaoke", "instrumental", "remix", "remixed", "tribute"})
# Kinds that may well be the same recording under another label: they lower the score a
# little instead of ruling the candidate out.
SOFT_KINDS = frozenset({"edit"})
# Kinds an artist credit reveals ("The Karaoke Channel", "Tribute to Queen").
ARTIST_KINDS = frozenset({"karaoke", "tribute"})
REMASTER = re.compile(r"\b(?:remaster(?:ed)?|remasterizado|remasterisee?)\b")
YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
RERECORDED = re.compile(r"\b(?:19|20)\d\d (?:version|recording)\b")

_FEAT_BRACKETED = re.compile(
    r"[\(\[]\s*(?:feat\.?|ft\.?|featuring|with|con|avec|mit)\s+([^\)\]]+)[\)\]]", re.IGNORECASE
)
_FEAT_TRAILING = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+(.+?)(?=\s+[-–—(\[]|$)", re.I)
_FEAT_SPLIT = re.compile(r"\s*[\(\[]?\s*\b(?:feat\.?|ft\.?|featuring)(?=\s|$)", re.IGNORECASE)
_BRACKETED = re.compile(r"[\(\[]([^\)\]]*)[\)\]]")
_DASH = re.compile(r"\s+[-–—]\s+")
_ARTIST_SPLIT = re.compile(
    r"\s*(?:,|;|/|&|\+|\bfeat\.?|\bft\.?|\bfeaturing\b|\bvs\.?|\bx\b|\band\b|\bwith\b|\by\b|\bet\b|\bund\b)\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Title:
    base: str  # normalized, without featured artists and version part
    featured: tuple[str, ...]  # normalized names
    kinds: frozenset[str]  # version kinds, "remaster" aside
    remaster: str | None  # None: not a remaster; "" a remaster without a year; else its year


def _phrases(text: str) -> set[str]:
    words = text.split()
    found = set()
    for n in (1, 2, 3):
        found |= {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
    return found


def version_kinds(text: str, *, anywhere: bool = False) -> frozenset[str]:
    """The version kinds named in normalized ``text`` (only the telling ones if ``anywhere``)."""
    phrases = _phrases(text)
    kinds = set()
    for kind, words in VERSION_WORDS.items():
        if anywhere and kind not in ANYWHERE:
            continue
        vocabulary = [w for w in words if not anywhere or w in ANYWHERE_WORDS]
        if any(w in phrases for w in vocabulary):
            kinds.add(kind)
    return frozenset(kinds)


def parse_title(raw: str) -> Title:
    featured: list[str] = []

    def take_featured(match: re.Match[str]) -> str:
        featured.extend(split_artists(match.group(1)))
        return " "

    text = _FEAT_BRACKETED.sub(take_featured, raw)
    text = _FEAT_TRAILING.sub(take_featured, text)
    version_parts = _BRACKETED.findall(text)
    text = _BRACKETED.sub(" ", text)
    pieces = _DASH.split(text)
    base_raw, version_parts = pieces[0], version_parts + pieces[1:]
    if not normalize(base_raw) and len(pieces) > 1:  # "- Live -" oddities: keep something
        base_raw = pieces[1]
    version = normalize(" ".join(version_parts))
    base = normalize(base_raw)
    kinds = set(version_kinds(version)) | set(version_kinds(base, anywhere=True))
    if RERECORDED.search(version):  # "(2019 Version)": the artist recorded it again
        kinds.add("rerecorded")
    remaster: str | None = None
    if REMASTER.search(version) or REMASTER.search(base):
        year = YEAR.search(version)
        remaster = year.group(1) if year else ""
    return Title(base=base, featured=tuple(featured), kinds=frozenset(kinds), remaster=remaster)


def split_artists(credit: str) -> list[str]:
    """``"Beyoncé feat. Jay-Z & Kanye"`` -> ``["beyonce", "jay z", "kanye"]`` (normalized)."""
    return [n for n in (normalize(p) for p in _ARTIST_SPLIT.split(credit)) if n]


def artist_kinds(names: tuple[str, ...]) -> frozenset[str]:
    """Karaoke or tribute acts, as their credits name them."""
    found: set[str] = set()
    for name in names:
        found |= version_kinds(normalize(name)) & ARTIST_KINDS
    return frozenset(found)


def without_article(name: str) -> str:
    """``"the beatles"`` -> ``"beatles"`` (normalized names)."""
    for article in ("the ", "los ", "las ", "les ", "die ", "la ", "le ", "el "):
        if name.startswith(article) and len(name) > len(article) + 2:
            return name[len(article) :]
    return name


def query_text(raw: str) -> str:
    """Text safe inside a quoted search filter: no quotes, single spaces."""
    return " ".join(raw.replace('"', " ").split())


def main_credit_raw(raw: str) -> str:
    """An artist credit as written, without the featured artists (for queries):
    ``"Beyoncé feat. Jay-Z"`` -> ``"Beyoncé"``."""
    head = _FEAT_SPLIT.split(raw, maxsplit=1)[0]
    return query_text(head) or query_text(raw)


def base_title_raw(raw: str) -> str:
    """The title as written, without featured artists and version parts (for queries)."""
    text = _FEAT_BRACKETED.sub(" ", raw)
    text = _FEAT_TRAILING.sub(" ", text)
    text = _BRACKETED.sub(" ", text)
    return query_text(_DASH.split(text)[0]) or query_text(raw)
