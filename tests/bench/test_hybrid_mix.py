"""bench/hybrid.py's query mix: the fake Spotify finds what the mix says it should, and the
Zipf draws repeat the popular queries (the cache's effect depends on it)."""

from __future__ import annotations

import socket
from collections import Counter

import pytest

from bench.fake_catalog import TrackIndex
from bench.hybrid import build_mix, closed_port, zipf_draws

SONGS = [(f"Golden River {n}", f"Artist {n}", f"Album {n}", 200_000 + n, None) for n in range(30)]


def test_full_titles_and_spotify_only_titles_are_found_on_the_fake():
    queries, tracks = build_mix(SONGS, seed=1)
    index = TrackIndex(tracks)

    for query in queries:
        if query.kind in ("title", "artist+title", "spotify-only"):
            assert index.search(query.text), query
    assert {q.kind for q in queries} == {"title", "typed", "artist+title", "spotify-only"}


def test_zipf_draws_repeat_the_popular_queries():
    queries, _ = build_mix(SONGS, seed=1)

    draws = zipf_draws(queries, 1000, seed=1)

    counts = Counter(q.text for q in draws)
    assert counts[queries[0].text] > counts[queries[-1].text]
    assert len(counts) < len(draws) / 5


@pytest.mark.loopback
def test_the_closed_port_refuses_connections():
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", closed_port()), timeout=1),
    ):
        pass
