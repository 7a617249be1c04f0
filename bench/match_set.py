"""A labelled set for the matching accuracy benchmark: local songs, the Spotify catalog a fake
Spotify serves for them, and each song's right answer(s) or "not on Spotify".

    cases, tracks = generate(seed=1, songs=400)

Deterministic for a seed. Names look real (English, Spanish, Portuguese, French, German,
Nordic, Italian, Polish, Turkish, Japanese and Korean romanisations, with their accents), and
each case belongs to a category that puts a hard distractor next to the right track: live,
remix, karaoke and instrumental versions, covers and same title by another artist, remasters,
compilation copies, missing ISRCs on the local side, colliding ISRCs (two recordings, one ISRC,
different lengths), durations a few seconds off, featured-artist spellings, accents folded or
not, artist articles. A case's ``expected`` holds every Spotify id that is the same recording
(the album track and its compilation copy share ISRC and length); empty means not on Spotify.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from bench.fake_catalog import spotify_id, track_object

WORDS = {
    "en": "love night heart fire river golden summer rain midnight dream light shadow wild "
    "blue morning ocean city lonely dance forever broken silver highway thunder stars home "
    "paper window winter echo electric sweet tender storm",
    "es": "corazón noche amor fuego cielo luna vida sueño mar camino alma besos tiempo "
    "canción lágrimas sol ciudad olvido verano siempre",
    "pt": "saudade coração noite mar estrela caminho vento sonho água tempo lua menina "
    "canção amanhã beija-flor",
    "fr": "cœur nuit été rêve lumière ciel amour étoile chanson mémoire pluie soleil "
    "liberté fenêtre éternité",
    "de": "herz nacht sommer traum licht sterne für immer welt märchen straße zeit weiß grün glück",
    "nordic": "hjarta ljós vetur sól nótt himinn stjärna hav skog vinter drøm søndag",
    "it": "cuore notte amore sole mare stella vita sogno città tempo luna primavera",
    "pl": "serce noc miłość słońce gwiazda życie morze łza wiosna",
    "tr": "gönül gece aşk yıldız deniz güneş hayat rüya şarkı",
    "ja": "sakura yoru hikari kokoro namida sora yume tsuki kaze hanabi",
    "ko": "sarang bam haneul kkum byeol nunmul baram maeum",
}
FIRST = ("Anna Luis Sofía João Marie Jürgen Björk Søren Giulia Zofia Emre Yui Min-jun "
         "Chloé Mateo Inês Hélène Lukas Astrid Paolo Kasia Elif Haruki Seo-yeon Olivia "
         "Noah Camila Thiago Amélie Felix").split()  # fmt: skip
LAST = ("Rivera Silva Dubois Müller Sigurðsson Johansson Rossi Kowalski Yılmaz Tanaka "
        "Kim Martín Gonçalves Lefèvre Schäfer Nørgaard Bianchi Wiśniewska Öztürk Sato Park "
        "Costa Moreau Becker Lindqvist Ferrari").split()  # fmt: skip
BAND = ("The {w}s", "{W} Club", "Los {W}", "{W} & the {V}s", "Les {W}", "{W} Collective",
        "Die {W}", "{W} Orchestra")  # fmt: skip
ALBUM = ("{W}", "{W} {V}", "Songs of {W}", "{W} (Deluxe Edition)", "The {W} Sessions",
         "{W} Nights", "Vol. 2")  # fmt: skip
COMPILATIONS = ("Greatest Hits", "The Very Best Of", "Now 84", "Top Hits 2010", "Essentials")

CATEGORIES = {
    "plain_isrc": 3, "missing_isrc": 3, "compilation_copy": 2, "live_distractor": 2,
    "local_live": 1, "cover_same_title": 2, "karaoke_instrumental": 2, "remix": 1,
    "remaster_only": 1, "remaster_both": 1, "colliding_isrc": 2, "duration_off": 2,
    "featured": 2, "accents": 2, "article": 1, "local_album_compilation": 1,
    "single_and_album": 2, "rerecorded": 1, "sparse_local": 2,
    "not_on_spotify": 2, "not_on_spotify_versions": 1, "not_on_spotify_isrc_taken": 1,
}  # fmt: skip


@dataclass
class Case:
    category: str
    local: dict[str, Any]  # title, artists, album, duration_ms, isrc, year
    expected: set[str] = field(default_factory=set)  # right Spotify ids; empty: not on Spotify


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.n = 0
        self.tracks: list[dict[str, Any]] = []

    def word(self, lang: str | None = None) -> str:
        lang = lang or self.rng.choice(list(WORDS))
        return self.rng.choice(WORDS[lang].split())

    def title(self) -> str:
        lang = self.rng.choice(list(WORDS))
        words = [self.word(lang) for _ in range(self.rng.choice((1, 2, 2, 3, 4)))]
        return " ".join(words).capitalize() if lang != "de" else " ".join(words).title()

    def artist(self) -> str:
        if self.rng.random() < 0.55:
            return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
        pattern = self.rng.choice(BAND)
        w, v = self.word().capitalize(), self.word().capitalize()
        return pattern.format(w=w, W=w, V=v)

    def album(self) -> str:
        w, v = self.word().capitalize(), self.word().capitalize()
        return self.rng.choice(ALBUM).format(W=w, V=v)

    def isrc(self) -> str:
        self.n += 1
        country = self.rng.choice(("US", "GB", "DE", "FR", "ES", "BR", "JP", "KR", "SE"))
        return f"{country}{self.rng.choice('ABCDEFGHJK')}{self.seed % 100:02d}{self.n:07d}"

    def track(self, **kw: Any) -> dict[str, Any]:
        self.n += 1
        kw.setdefault("popularity", self.rng.randint(5, 80))
        kw["track_id"] = spotify_id(f"{self.seed}:{self.n}:{kw['name']}")
        body = track_object(**kw)
        self.tracks.append(body)
        return body


def _local(gen: _Gen, track: dict[str, Any], *, isrc: bool, **over: Any) -> dict[str, Any]:
    """The local song as an import would have it for ``track``: album and year sometimes
    missing, the duration rounded to the second."""
    rng = gen.rng
    local = {
        "title": track["name"],
        "artists": [a["name"] for a in track["artists"]],
        "album": track["album"]["name"] if rng.random() < 0.7 else None,
        "duration_ms": round(track["duration_ms"], -3) if rng.random() < 0.9 else None,
        "isrc": track["external_ids"].get("isrc") if isrc else None,
        "year": int(track["album"]["release_date"][:4]) if rng.random() < 0.6 else None,
    }
    local.update(over)
    return local


def _case(gen: _Gen, category: str) -> Case:  # one branch per category
    rng = gen.rng
    title, artist, album = gen.title(), gen.artist(), gen.album()
    year = rng.randint(1965, 2024)
    length = rng.randint(150_000, 330_000)
    isrc = gen.isrc()
    has_isrc = rng.random() < 0.6

    def original(**over: Any) -> dict[str, Any]:
        kw = {
            "name": title,
            "artists": [artist],
            "album": album,
            "duration_ms": length,
            "isrc": isrc,
            "release_date": f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        }
        kw.update(over)
        return gen.track(**kw)  # fmt: skip

    def other_version(suffix: str, *, who: str | None = None, delta: int = 0) -> None:
        gen.track(name=f"{title} {suffix}", artists=[who or artist], album=gen.album(),
                  duration_ms=length + delta, isrc=gen.isrc(),
                  release_date=str(min(year + rng.randint(0, 10), 2025)),
                  popularity=rng.randint(30, 95))  # fmt: skip

    if category in ("plain_isrc", "missing_isrc"):
        right = original()
        if rng.random() < 0.5:
            other_version("- Live", delta=rng.randint(5_000, 40_000))
        return Case(category, _local(gen, right, isrc=category == "plain_isrc"), {right["id"]})
    if category == "compilation_copy":
        right = original()
        copy = gen.track(name=title, artists=[artist], album=rng.choice(COMPILATIONS),
                         duration_ms=length, isrc=isrc, release_date=str(min(year + 8, 2025)),
                         popularity=rng.randint(60, 95))  # fmt: skip
        return Case(category, _local(gen, right, isrc=has_isrc), {right["id"], copy["id"]})
    if category == "live_distractor":
        right = original(popularity=20)
        other_version(rng.choice(("- Live", "(Live at Wembley)", "- Ao Vivo", "- En Vivo")),
                      delta=rng.choice((-3_000, 0, 15_000)))  # fmt: skip
        return Case(category, _local(gen, right, isrc=has_isrc), {right["id"]})
    if category == "local_live":
        original(popularity=90)
        live = gen.track(
            name=f"{title} - Live",
            artists=[artist],
            album=f"{album} Live",
            duration_ms=length + 20_000,
            isrc=gen.isrc(),
            release_date=str(year),
        )
        local = _local(gen, live, isrc=has_isrc, title=f"{title} (Live)")
        return Case(category, local, {live["id"]})
    if category == "cover_same_title":
        right = original(popularity=15)
        for _ in range(rng.randint(1, 3)):
            gen.track(name=title, artists=[gen.artist()], album=gen.album(),
                      duration_ms=length + rng.randint(-4_000, 4_000), isrc=gen.isrc(),
                      release_date=str(rng.randint(1970, 2025)),
                      popularity=rng.randint(40, 95))  # fmt: skip
        return Case(category, _local(gen, right, isrc=has_isrc), {right["id"]})
    if category == "karaoke_instrumental":
        right = original(popularity=25)
        other_version("(Karaoke Version)", who="Karaoke Hits Band", delta=1_000)
        other_version("- Instrumental", delta=rng.randint(-2_000, 2_000))
        other_version(f"(Originally Performed by {artist})", who="Tribute Stars")
        return Case(category, _local(gen, right, isrc=has_isrc), {right["id"]})
    if category == "remix":
        right = original(popularity=25)
        other_version(f"- {gen.artist()} Remix", delta=rng.randint(20_000, 90_000))
        other_version("(Acoustic)", delta=rng.randint(-20_000, 5_000))
        return Case(category, _local(gen, right, isrc=has_isrc), {right["id"]})
    if category == "remaster_only":
        # Spotify has only the remaster (a new ISRC); the local song predates it.
        remaster = original(name=f"{title} - Remastered {min(year + 20, 2024)}",
                            album=f"{album} (Remastered)", isrc=gen.isrc())  # fmt: skip
        local = _local(gen, remaster, isrc=False, title=title, album=album)
        return Case(category, local, {remaster["id"]})
    if category == "remaster_both":
        right = original()
        gen.track(name=f"{title} - Remastered {min(year + 25, 2024)}", artists=[artist],
                  album=f"{album} (Remastered)", duration_ms=length + 500, isrc=gen.isrc(),
                  release_date=str(min(year + 25, 2024)), popularity=90)  # fmt: skip
        return Case(category, _local(gen, right, isrc=has_isrc), {right["id"]})
    if category == "colliding_isrc":
        # Two recordings, one ISRC: the extended one is 40-90 s longer.
        right = original()
        gen.track(name=title, artists=[artist], album=f"{title} (Extended)",
                  duration_ms=length + rng.randint(40_000, 90_000), isrc=isrc,
                  release_date=str(year), popularity=95)  # fmt: skip
        return Case(category, _local(gen, right, isrc=True), {right["id"]})
    if category == "duration_off":
        right = original()
        off = rng.choice((-1, 1)) * rng.randint(2_000, 6_000)
        local = _local(gen, right, isrc=has_isrc, duration_ms=length + off)
        return Case(category, local, {right["id"]})
    if category == "featured":
        guest = gen.artist()
        right = original(name=f"{title} (feat. {guest})", artists=[artist, guest])
        spelling = rng.choice(("title", "credit", "list"))
        local = _local(gen, right, isrc=has_isrc)
        if spelling == "title":
            local.update(title=f"{title} (ft. {guest})", artists=[artist])
        elif spelling == "credit":
            local.update(title=title, artists=[f"{artist} feat. {guest}"])
        else:
            local.update(title=title, artists=[artist, guest])
        return Case(category, local, {right["id"]})
    if category == "accents":
        accented = f"{title} {rng.choice(('Corazón', 'Été', 'Für Dich', 'Ação', 'Miłość'))}"
        right = original(name=accented)
        from catalog.normalize import normalize

        folded = normalize(accented).title() if rng.random() < 0.5 else accented.upper()
        local = _local(gen, right, isrc=has_isrc, title=folded)
        return Case(category, local, {right["id"]})
    if category == "article":
        right = original(artists=[f"The {artist.split()[-1]}s"])
        local = _local(gen, right, isrc=has_isrc, artists=[f"{artist.split()[-1]}s"])
        return Case(category, local, {right["id"]})
    if category == "single_and_album":
        # One recording released as a single and on the album, under two ISRCs.
        right = original()
        single = gen.track(name=title, artists=[artist], album=title, isrc=gen.isrc(),
                           duration_ms=length + rng.randint(-400, 400),
                           release_date=str(max(year - 1, 1960)), popularity=70)  # fmt: skip
        return Case(category, _local(gen, right, isrc=False), {right["id"], single["id"]})
    if category == "rerecorded":
        # The artist recorded the song again years later: another recording, more popular.
        right = original(popularity=30)
        marker = rng.choice(("", " (2019 Version)", " (Re-Recorded)", " - New Version"))
        gen.track(name=f"{title}{marker}", artists=[artist], album=f"{album} (Revisited)",
                  duration_ms=length + rng.choice((-1, 1)) * rng.randint(3_000, 15_000),
                  isrc=gen.isrc(), release_date=str(min(year + 15, 2025)),
                  popularity=85)  # fmt: skip
        return Case(category, _local(gen, right, isrc=has_isrc), {right["id"]})
    if category == "sparse_local":
        # Only a title and an artist locally (a hand-typed row), a live version beside.
        right = original()
        other_version(
            rng.choice(("- Live", "- Acoustic Version")), delta=rng.randint(-5_000, 20_000)
        )
        local = _local(gen, right, isrc=False, album=None, duration_ms=None, year=None)
        return Case(category, local, {right["id"]})
    if category == "local_album_compilation":
        right = original()
        local = _local(gen, right, isrc=False, album=rng.choice(COMPILATIONS))
        return Case(category, local, {right["id"]})
    # Not on Spotify: the local song's recording is absent, but look-alikes are there.
    local = {"title": title, "artists": [artist], "album": album if rng.random() < 0.7 else None,
             "duration_ms": length, "isrc": gen.isrc() if rng.random() < 0.5 else None,
             "year": year if rng.random() < 0.6 else None}  # fmt: skip
    if category == "not_on_spotify":
        for _ in range(rng.randint(1, 3)):
            gen.track(name=title, artists=[gen.artist()], album=gen.album(),
                      duration_ms=length + rng.randint(-3_000, 3_000), isrc=gen.isrc(),
                      release_date=str(rng.randint(1970, 2025)))  # fmt: skip
    elif category == "not_on_spotify_versions":
        other_version("- Live", delta=rng.randint(-2_000, 30_000))
        other_version("(Karaoke Version)", who="Karaoke Hits Band")
    else:  # the local ISRC now names another recording on Spotify
        local["isrc"] = gen.isrc()
        gen.track(
            name=gen.title(),
            artists=[gen.artist()],
            album=gen.album(),
            duration_ms=length,
            isrc=local["isrc"],
            release_date=str(year),
        )
    return Case(category, local, set())


def generate(*, seed: int, songs: int = 400) -> tuple[list[Case], list[dict[str, Any]]]:
    """``songs`` cases in the categories' proportions, and the Spotify catalog for them (with
    unrelated filler tracks that share their words)."""
    gen = _Gen(seed)
    weights = list(CATEGORIES.values())
    cases = [gen.rng.choices(list(CATEGORIES), weights)[0] for _ in range(songs)]
    built = [_case(gen, category) for category in cases]
    for _ in range(songs):  # filler: popular songs with common words
        gen.track(name=gen.title(), artists=[gen.artist()], album=gen.album(),
                  duration_ms=gen.rng.randint(150_000, 330_000), isrc=gen.isrc(),
                  release_date=str(gen.rng.randint(1965, 2025)),
                  popularity=gen.rng.randint(50, 100))  # fmt: skip
    return built, gen.tracks
