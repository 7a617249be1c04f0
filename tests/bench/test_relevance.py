"""bench/real_catalog.py and bench/relevance.py: the catalog is the same for the same seed and
has what it promises; the queries are of their kinds; both engines are asked the same."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from rapidfuzz.distance import OSA

from bench.real_catalog import realistic_records
from bench.relevance import KINDS, edits1, encore_search, queries, typo
from bench.relevance_tantivy import tantivy_engine
from catalog.services import song_records_upsert


def test_the_catalog_is_the_same_for_the_same_seed_and_has_what_it_promises():
    first = list(realistic_records(1500, seed=5))
    assert first == list(realistic_records(1500, seed=5))
    assert first != list(realistic_records(1500, seed=6))
    artists = {a for record in first for a in record.artists}
    assert {"P!nk", "Ke$ha", "R.E.M.", "AC/DC", "will.i.am", "Queen"} <= artists
    titles = [r.title for r in first]
    assert "Bohemian Rhapsody" in titles
    assert any(" - Live" in t or "Remaster" in t or "(Remix)" in t for t in titles)
    assert any("feat." in t for t in titles)
    assert any(not t.isascii() for t in titles + sorted(artists))  # real accented words
    words = {w.lower() for t in titles for w in t.split()}
    assert len(words) > 1000  # a real vocabulary, not a list of fifty words


def test_a_typo_is_one_edit_and_edits1_lists_them():
    rng = random.Random(1)
    for word in ["rhapsody", "queen", "guglielmo"] * 20:
        assert OSA.distance(word, typo(word, rng)) == 1
    assert {"qeuen", "quen", "queena", "qxeen"} <= edits1("queen")
    assert "queen" not in edits1("queen")


@pytest.mark.django_db
def test_queries_of_every_kind_and_both_engines_find_their_songs(tmp_path, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the relevance benchmark's queries are PostgreSQL's (it runs on PostgreSQL)")
    song_records_upsert(records=realistic_records(3000, seed=5))
    made = queries(seed=1, per_kind=3)
    assert {kind for kind, _, _ in made} == set(KINDS)
    assert all(right for _, _, right in made)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    tantivy = tantivy_engine("test", rebuild=True)
    for kind, q, right in made:
        if kind in ("exact_title", "title_artist", "famous"):
            assert right & set(encore_search(q)), (kind, q)
            assert right & set(tantivy(q)), (kind, q)
