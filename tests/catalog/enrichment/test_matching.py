"""The matching engine: queries, scoring parts, caps and the decision, without ORM or HTTP.

Tracks are built with the benchmarks' fake catalog (spec-shaped TrackObjects) and searched
with its index, so the engine sees what Spotify's search would give it.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.fake_catalog import TrackIndex, track_object
from catalog.enrichment.matching import (
    DEFAULT_THRESHOLDS,
    Candidate,
    LocalSong,
    Thresholds,
    decide,
    match_song,
    score,
)
from tests.spotify_integration.openapi import validate_response


def song(
    title: str = "Halo",
    artists: tuple[str, ...] = ("Beyoncé",),
    album: str | None = "I Am... Sasha Fierce",
    duration_ms: int | None = 261_640,
    isrc: str | None = "USSM10804556",
    year: int | None = 2008,
) -> LocalSong:
    return LocalSong(title=title, artists=artists, album=album, duration_ms=duration_ms,
                     isrc=isrc, year=year)  # fmt: skip


def track(**kwargs: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "name": "Halo", "artists": ["Beyoncé"], "album": "I Am... Sasha Fierce",
        "duration_ms": 261_640, "isrc": "USSM10804556", "release_date": "2008-11-14",
    }  # fmt: skip
    body = track_object(**{**defaults, **kwargs})
    validate_response("/tracks/{id}", "GET", 200, body)
    return body


class Searcher:
    """A search over a small catalog that records the queries it was asked."""

    def __init__(self, *tracks: dict[str, Any]) -> None:
        self.index = TrackIndex(tracks)
        self.queries: list[str] = []

    def __call__(self, q: str) -> list[dict[str, Any]]:
        self.queries.append(q)
        return self.index.search(q)[:10]


HALO = track()
HALO_LIVE = track(name="Halo - Live", album="I Am... Yours", duration_ms=282_000,
                  isrc="USSM10904001", release_date="2009")  # fmt: skip
HALO_KARAOKE = track(name="Halo (Karaoke Version)", artists=["Karaoke Stars"],
                     album="Karaoke Hits 2009", isrc="GBKAR0900001")  # fmt: skip
HALO_OTHER_ARTIST = track(
    name="Halo", artists=["Depeche Mode"], album="Violator", duration_ms=270_000,
    isrc="GBAJH9000011", release_date="1990",
)  # fmt: skip


def test_a_decisive_isrc_hit_ends_the_search_after_one_query():
    search = Searcher(HALO, HALO_LIVE, HALO_KARAOKE, HALO_OTHER_ARTIST)
    outcome = match_song(song(), search=search)
    assert outcome.status == "matched"
    assert outcome.best is not None and outcome.best.candidate.spotify_id == HALO["id"]
    assert search.queries == ["isrc:USSM10804556"] == outcome.queries
    assert outcome.best.parts["isrc"] == 1.0 and outcome.confidence == outcome.best.score


def test_without_isrc_metadata_finds_the_original_among_versions():
    search = Searcher(HALO, HALO_LIVE, HALO_KARAOKE, HALO_OTHER_ARTIST)
    outcome = match_song(song(isrc=None, album=None), search=search)
    assert outcome.status == "matched"
    assert outcome.best is not None and outcome.best.candidate.spotify_id == HALO["id"]
    assert search.queries == ['track:"Halo" artist:"Beyoncé"']
    ranked = {s.candidate.spotify_id: s for s in outcome.ranked}
    assert ranked[HALO_LIVE["id"]].score <= 0.4  # the live version is ruled out
    assert "another version: live" in ranked[HALO_LIVE["id"]].notes


def test_the_fallback_queries_run_once_each_and_only_when_needed():
    compilation = track(album="Now That's What I Call Music 72", release_date="2009-03")
    search = Searcher(compilation)
    outcome = match_song(song(isrc=None), search=search)
    # The strict query with the album finds nothing; the one without the album does.
    assert len(search.queries) == 2 and "album:" not in search.queries[1]
    assert outcome.status == "matched"


def test_a_song_without_an_album_falls_back_to_plain_words():
    pressure = track(name="Under Pressure", artists=["Queen", "David Bowie"], album="Hot Space",
                     duration_ms=248_000, isrc=None, release_date="1982")  # fmt: skip
    search = Searcher(pressure)
    # A credit imported as one name: the strict artist filter finds nothing.
    local = song(title="Under Pressure", artists=("Queen and David Bowie",), album=None,
                 duration_ms=248_500, isrc=None, year=None)  # fmt: skip
    outcome = match_song(local, search=search)
    assert search.queries == [
        'track:"Under Pressure" artist:"Queen and David Bowie"',
        "under pressure queen",
    ]
    assert outcome.status == "matched" and outcome.queries == search.queries


def test_quotes_in_names_do_not_break_the_query():
    search = Searcher()
    match_song(song(title='The "Real" Slim Shady', artists=("Eminem",), album=None, isrc=None),
               search=search)  # fmt: skip
    assert search.queries[0] == 'track:"The Real Slim Shady" artist:"Eminem"'


def test_a_colliding_isrc_with_another_length_is_not_evidence():
    # Two recordings under one ISRC: the right one is the one whose duration agrees.
    other = track(name="Halo", album="Halo (Remixes)", duration_ms=330_000,
                  release_date="2009")  # fmt: skip
    scored = score(song(), Candidate.from_track(other))
    assert scored.parts["isrc"] == 0.0
    assert any("colliding" in note for note in scored.notes)
    outcome = match_song(song(), search=Searcher(HALO, other))
    assert outcome.status == "matched" and outcome.best is not None
    assert outcome.best.candidate.spotify_id == HALO["id"]


def test_isrc_alone_never_matches():
    impostor = track(name="Something Else Entirely", artists=["Nobody"], album="X")
    outcome = match_song(song(), search=Searcher(impostor))
    assert outcome.status == "no_match"


def test_a_disagreeing_isrc_caps_the_score_below_acceptance():
    relabelled = track(isrc="USSM19999999")
    scored = score(song(), Candidate.from_track(relabelled))
    assert scored.parts["isrc"] == 0.0
    assert DEFAULT_THRESHOLDS.floor <= scored.score <= 0.70
    assert match_song(song(), search=Searcher(relabelled)).status == "needs_review"


@pytest.mark.parametrize(
    ("title", "artists"),
    [
        ("Halo (Karaoke Version)", ["Beyoncé"]),
        ("Halo - Acoustic", ["Beyoncé"]),
        ("Halo - Instrumental", ["Beyoncé"]),
        ("Halo (Demo)", ["Beyoncé"]),
        ("Halo (Remix)", ["Beyoncé"]),
        ("Halo", ["Beyoncé Tribute Band"]),
        ("Halo (Originally Performed by Beyoncé)", ["Hit Crew"]),
        ("Halo - Cover", ["Beyoncé"]),
    ],
)
def test_version_words_must_agree(title, artists):
    version = Candidate.from_track(track(name=title, artists=artists, isrc=None))
    assert score(song(isrc=None), version).score <= 0.40


def test_version_words_that_agree_match():
    live = track(name="Halo - Live", album="I Am... Yours", isrc=None)
    outcome = match_song(song(title="Halo (Live)", album=None, isrc=None), search=Searcher(live))
    assert outcome.status == "matched"


def test_a_remaster_of_another_year_differs_from_one_of_the_same_year():
    local = song(title="Bohemian Rhapsody (Remastered 2011)", artists=("Queen",), album=None,
                 duration_ms=354_000, isrc=None, year=None)  # fmt: skip
    same = Candidate.from_track(
        track(
            name="Bohemian Rhapsody - Remastered 2011",
            artists=["Queen"],
            duration_ms=354_320,
            isrc=None,
        )
    )
    other = Candidate.from_track(
        track(
            name="Bohemian Rhapsody - Remastered 2023",
            artists=["Queen"],
            duration_ms=354_320,
            isrc=None,
        )
    )
    assert score(local, same).parts["version"] == 1.0
    assert score(local, other).parts["version"] == 0.0
    assert score(local, same).score > score(local, other).score + 0.05


def test_same_title_by_another_artist_is_ruled_out():
    scored = score(song(isrc=None), Candidate.from_track(HALO_OTHER_ARTIST))
    assert scored.score <= 0.40 and "the main artist differs" in scored.notes


def test_duration_counts_fully_within_2s_and_not_at_all_past_30s():
    def duration_part(ms: int) -> float:
        return score(song(isrc=None), Candidate.from_track(track(duration_ms=ms))).parts["duration"]

    assert duration_part(261_640 + 2_000) == 1.0
    assert 0.4 < duration_part(261_640 + 15_000) < 0.6
    assert duration_part(261_640 - 30_000) == 0.0
    assert "duration" not in score(song(duration_ms=None), Candidate.from_track(HALO)).parts


def test_featured_artists_in_the_title_or_the_credits_agree():
    local = song(title="Crazy in Love (feat. Jay-Z)", artists=("Beyoncé",), album=None,
                 duration_ms=236_000, isrc=None, year=None)  # fmt: skip
    credited = track(name="Crazy In Love (feat. JAY-Z)", artists=["Beyoncé", "JAY-Z"],
                     album="Dangerously In Love", duration_ms=236_133, isrc=None)  # fmt: skip
    scored = score(local, Candidate.from_track(credited))
    assert scored.parts["other_artists"] == 1.0 and scored.score >= 0.95
    imported_as_one = song(title="Crazy in Love", artists=("Beyoncé feat. Jay-Z",), album=None,
                           duration_ms=236_000, isrc=None, year=None)  # fmt: skip
    assert score(imported_as_one, Candidate.from_track(credited)).parts["artist"] == 1.0


def test_accents_case_and_articles_do_not_matter():
    local = song(title="CORAZÓN ESPINADO", artists=("Santana",), album=None,
                 duration_ms=276_000, isrc=None, year=None)  # fmt: skip
    cand = Candidate.from_track(
        track(
            name="Corazon Espinado (feat. Maná)",
            artists=["Santana", "Maná"],
            duration_ms=276_200,
            isrc=None,
        )
    )
    assert score(local, cand).parts["title"] == 1.0
    beatles = Candidate.from_track(track(name="Let It Be", artists=["The Beatles"], isrc=None))
    assert score(song(title="Let It Be", artists=("Beatles",)), beatles).parts["artist"] == 1.0


def test_two_different_recordings_close_together_go_to_review():
    # No ISRC, no duration, no album: the studio track and its single version tie.
    single = track(name="Halo", album="Halo (Single)", duration_ms=250_000, isrc="USSM10899999",
                   release_date="2009")  # fmt: skip
    local = song(album=None, duration_ms=None, isrc=None, year=None)
    outcome = match_song(local, search=Searcher(HALO, single))
    assert outcome.status == "needs_review"
    assert len(outcome.ranked) == 2 and len(outcome.queries) == 2


def test_one_recording_released_twice_is_not_ambiguous():
    compilation = track(album="Greatest Hits", release_date="2015")  # same ISRC, same length
    outcome = match_song(song(), search=Searcher(HALO, compilation))
    assert outcome.status == "matched" and outcome.best is not None
    assert outcome.best.candidate.spotify_id == HALO["id"]  # the earlier release wins a tie


def test_nothing_found_is_no_match_with_the_queries_in_the_evidence():
    outcome = match_song(song(isrc=None), search=Searcher())
    assert outcome.status == "no_match" and outcome.best is None and outcome.confidence is None
    evidence = outcome.evidence()
    assert evidence["candidates"] == [] and len(evidence["queries"]) == 2


def test_the_evidence_explains_the_decision_as_json():
    import json

    outcome = match_song(song(duration_ms=262_640), search=Searcher(HALO, HALO_LIVE))
    evidence = json.loads(json.dumps(outcome.evidence()))
    assert evidence["status"] == "matched"
    assert evidence["thresholds"] == {"accept": 0.85, "margin": 0.08, "floor": 0.55}
    first = evidence["candidates"][0]
    assert first["spotify_id"] == HALO["id"] and first["duration_diff_ms"] == -1000
    assert first["isrc_agrees"] is True and set(first["parts"]) >= {"title", "artist", "isrc"}
    assert evidence["local"]["title"] == "Halo" and evidence["at"]
    assert Candidate.from_dict({k: first[k] for k in Candidate.__dataclass_fields__}) == (
        Candidate.from_track(HALO)
    )


def test_thresholds_decide():
    scored = score(song(isrc=None, album=None), Candidate.from_track(HALO))
    strict = Thresholds(accept=scored.score + 0.01, margin=0.0, floor=0.2)
    assert decide([scored], strict)[0] == "needs_review"
    assert decide([scored], Thresholds(accept=1.1, margin=0, floor=1.05))[0] == "no_match"
    assert decide([], DEFAULT_THRESHOLDS) == ("no_match", None, None)


def test_at_most_ten_results_a_page_are_read():
    many = [track(name="Halo", album=f"Best of {i}", isrc=None, duration_ms=100_000 + i,
                  release_date=str(2000 + i)) for i in range(15)]  # fmt: skip
    outcome = match_song(song(isrc=None, album=None), search=lambda q: many)
    assert len(outcome.ranked) == 5
    assert all(s.candidate.spotify_id in {t["id"] for t in many[:10]} for s in outcome.ranked)


def test_candidate_from_a_sparse_2026_track():
    sparse = track(popularity=None, preview_url=None, isrc=None)
    cand = Candidate.from_track(sparse)
    assert cand.isrc is None and cand.preview_url is None and cand.year == 2008
    assert cand.album_image_url and cand.artist_ids == (sparse["artists"][0]["id"],)


def test_a_featured_artist_in_the_credit_stays_out_of_the_artist_filter():
    search = Searcher()
    match_song(song(artists=("Beyoncé feat. Jay-Z",), album=None, isrc=None), search=search)
    assert search.queries[0] == 'track:"Halo" artist:"Beyoncé"'


def test_a_single_and_its_album_track_under_two_isrcs_are_one_recording():
    single = track(album="Halo", isrc="USSM10800001", duration_ms=261_900, release_date="2008")
    outcome = match_song(song(isrc=None, album=None, year=None), search=Searcher(HALO, single))
    assert outcome.status == "matched"


def test_a_re_recording_with_a_year_version_is_another_recording():
    again = track(name="Halo (2019 Version)", isrc="USSM11900001", release_date="2019")
    scored = score(song(isrc=None), Candidate.from_track(again))
    assert scored.score <= 0.40 and any("rerecorded" in n for n in scored.notes)
