"""The demo catalog: real well-known songs typed in as facts, then a seeded synthetic catalog.

The synthetic part looks like a real catalog to search: accented and non-English names,
featured artists, remasters and live versions, and common title words shared by many songs
of different artists. The same size and seed always give the same songs, so loading twice
changes nothing.
"""

from __future__ import annotations

import csv
import random
import string
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from catalog.records import SongRecord

REAL_SONGS = Path(__file__).resolve().parent / "demo_data" / "real_songs.csv"
DEFAULT_SEED = 20261123

_WORDS = """
love heart night midnight fever dance fire rain summer dream light shadow river road home
city star stars moon sun sky ocean storm thunder gold silver blue red black white wild young
golden lonely broken sweet bitter electric neon velvet crystal paper glass stone iron honey
sugar diamond ghost angel devil heaven paradise highway train station window door garden
forest mountain desert island winter autumn spring morning evening tonight forever always
never yesterday tomorrow yours mine together alone running falling flying burning shining
crying dancing dreaming waiting calling coming going holding breaking missing chasing
kiss touch whisper echo silence thunderstruck rhythm melody harmony symphony serenade ballad
lullaby anthem blues soul groove funk disco boogie rock roll heartbeat pulse wave waves
tide horizon sunset sunrise daylight starlight moonlight firelight candle flame spark ember
ashes smoke mirror memory memories secret secrets promise promises lies truth story stories
letter letters song songs radio television machine engine motor rocket satellite planet
galaxy universe cosmic atomic magnetic digital analog vintage modern classic eternal infinite
endless restless reckless fearless careless hopeless helpless heartless
""".split()
_ACCENTED = """
corazón canción noche amor vida mañana última niña café déjà rêve été âme cœur
señorita fiesta música bésame rosé naïve über schön mädchen sehnsucht fjäll kärlek
""".split()
_FIRST = """
José Zoë Anaïs Björn Søren Chloé Renée Ngozi Łukasz Nadia Marco Lucía Sofía Mateo Élodie
Inés Joaquín Aurélie Mikaël Jürgen Åsa Ólafur Dagný Ayşe Çağan İlker Žofie Tomáš Dvořák
Emma Olivia Liam Noah James Ava Mia Ella Grace Lily Jack Leo Max Sam Alex Kai Ruby Nina
Omar Amir Yara Leila Hana Kenji Yuki Haruto Min-jun Ji-woo Arjun Priya Ravi Ananya Kofi
Amara Thabo Zanele Mateus Thiago Beatriz João Gonçalo François Hélène Léa Maëlle
""".split()
_LAST = """
Müller Núñez García Øster Nyström Ångström Lefèvre Dubois Rossi Bianchi Kowalski Novák
Smith Johnson Brown Taylor Wilson Davies Evans Thomas Roberts Walker Wright Robinson
Thompson White Hughes Edwards Green Hall Wood Harris Martin Jackson Clarke Lewis Young
Rodríguez Fernández López Martínez Sánchez Pérez Gómez Díaz Álvarez Romero Herrera
Tanaka Sato Suzuki Kim Park Lee Choi Nakamura Patel Singh Sharma Okafor Mensah Silva
Santos Oliveira Costa Ferreira Mendes Ribeiro Almeida Moreau Laurent Girard Fontaine
""".split()
_BAND_NOUNS = """
Wolves Lions Tigers Foxes Ravens Crows Sparrows Machines Robots Kings Queens Knights
Pilots Sailors Strangers Lovers Dreamers Drifters Ramblers Rebels Saints Sinners Ghosts
Giants Echoes Shadows Satellites Comets Rockets Horses Bears Owls Whales Sharks Tides
""".split()
_GENRE_SUFFIX = ["", "", "", "", " Band", " Trio", " Quartet", " Collective", " Orchestra"]
_VENUES = ["Wembley", "Madison Square Garden", "the Royal Albert Hall", "Glastonbury",
           "Montreux", "Budokan", "the Olympia", "Red Rocks", "Rock in Rio", "the BBC"]  # fmt: skip
_ALBUM_SUFFIX = ["", "", "", "", " (Deluxe Edition)", " (Remastered)", " (Expanded Edition)"]
_BASE62 = string.digits + string.ascii_letters
_COUNTRIES = ["US", "GB", "SE", "FR", "DE", "ES", "BR", "JP", "KR", "IS", "NO", "MX", "CA"]


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def word(self) -> str:
        if self.rng.random() < 0.08:
            return self.rng.choice(_ACCENTED)
        return self.rng.choice(_WORDS)

    def title(self) -> str:
        r = self.rng.random()
        w = self.word
        if r < 0.25:
            return _cap(w())
        if r < 0.55:
            return f"{_cap(w())} {_cap(w())}"
        if r < 0.7:
            return f"{_cap(w())} of {_cap(w())}"
        if r < 0.8:
            return f"The {_cap(w())} {_cap(w())}"
        if r < 0.9:
            return f"{_cap(w())} {_cap(w())} {_cap(w())}"
        return f"{_cap(w())} in the {_cap(w())}"

    def artist(self) -> str:
        r = self.rng.random()
        if r < 0.45:
            return f"{self.rng.choice(_FIRST)} {self.rng.choice(_LAST)}"
        if r < 0.7:
            return f"The {_cap(self.word())} {self.rng.choice(_BAND_NOUNS)}"
        if r < 0.85:
            return f"{self.rng.choice(_FIRST)}{self.rng.choice(_GENRE_SUFFIX)}"
        return f"{_cap(self.word())} {self.rng.choice(_BAND_NOUNS)}{self.rng.choice(_GENRE_SUFFIX)}"

    def spotify_id(self) -> str:
        return "".join(self.rng.choice(_BASE62) for _ in range(22))

    def isrc(self) -> str:
        registrant = "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in "abc")
        return f"{self.rng.choice(_COUNTRIES)}{registrant}{self.rng.randint(0, 9999999):07d}"


def synthetic_records(count: int, *, seed: int = DEFAULT_SEED) -> Iterator[SongRecord]:
    """``count`` synthetic songs, the same ones for the same seed."""
    g = _Generator(seed)
    rng = g.rng
    artists = [g.artist() for _ in range(max(10, count // 12))]
    made = 0
    while made < count:
        main = rng.choice(artists)
        year = rng.randint(1958, 2026)
        album = f"{g.title()}{rng.choice(_ALBUM_SUFFIX)}"
        image = f"https://i.scdn.co/image/ab67616d0000b273{rng.getrandbits(96):024x}"
        for _track in range(rng.randint(4, 14)):
            if made >= count:
                return
            title = g.title()
            credited = [main]
            kind = rng.random()
            if kind < 0.12:
                credited.append(rng.choice(artists))
                title = f"{title} (feat. {credited[-1]})"
            elif kind < 0.17 and year < 2015:
                title = f"{title} - Remastered {rng.randint(max(year + 5, 1990), 2025)}"
            elif kind < 0.21:
                title = f"{title} - Live at {rng.choice(_VENUES)}"
            elif kind < 0.23:
                title = f"{title} - Radio Edit"
            has_spotify = rng.random() < 0.6
            released = date(year, rng.randint(1, 12), rng.randint(1, 28))
            precision = rng.choice(["day", "day", "day", "year"])
            made += 1
            yield SongRecord(
                title=title,
                artists=list(dict.fromkeys(credited)),
                album=album,
                duration_ms=rng.randint(95_000, 480_000),
                isrc=g.isrc() if rng.random() < 0.75 else None,
                release_date=released if precision == "day" else date(year, 1, 1),
                release_date_precision=precision,
                release_year=year,
                explicit=rng.random() < 0.12,
                spotify_id=g.spotify_id() if has_spotify else None,
                album_image_url=image if has_spotify else None,
                popularity=rng.randint(0, 85) if has_spotify else None,
            )


def real_records() -> Iterator[SongRecord]:
    """The well-known songs in demo_data/real_songs.csv (title, artists, album, year)."""
    with REAL_SONGS.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            year = int(row["year"])
            yield SongRecord(
                title=row["title"].strip(),
                artists=[a.strip() for a in row["artists"].split(";") if a.strip()],
                album=row["album"].strip() or None,
                release_date=date(year, 1, 1),
                release_date_precision="year",
                release_year=year,
                # Famous songs rank a little above synthetic ones with the same words.
                popularity=90,
            )


def demo_records(size: int, *, seed: int = DEFAULT_SEED) -> Iterator[SongRecord]:
    """The real songs, then synthetic ones up to ``size`` songs in all."""
    real = list(real_records())
    yield from real[:size]
    yield from synthetic_records(max(0, size - len(real)), seed=seed)
