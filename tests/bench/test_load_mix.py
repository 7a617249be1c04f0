"""bench/load_mix.py: the load benchmark's search traffic is seeded, skewed and long-tailed."""

from __future__ import annotations

from collections import Counter

from bench.load_mix import repeat_share, search_script, zipf_sequence

POOL = [f"query {i}" for i in range(2000)]


def test_the_sequence_is_the_same_for_the_same_seed():
    assert zipf_sequence(POOL, 500, 1.0, seed=7) == zipf_sequence(POOL, 500, 1.0, seed=7)
    assert zipf_sequence(POOL, 500, 1.0, seed=7) != zipf_sequence(POOL, 500, 1.0, seed=8)


def test_a_few_queries_are_asked_often_and_most_rarely():
    sequence = zipf_sequence(POOL, 20_000, 1.0, seed=7)
    counts = Counter(sequence).most_common()
    top = counts[0][1]
    # 1/k: the most asked about 1/H(2000) = 12 % of requests, the 10th a tenth of that
    assert 0.09 < top / len(sequence) < 0.15
    assert 0.05 < counts[9][1] / top < 0.2
    once = sum(1 for _, n in counts if n == 1)
    assert once > 200  # the long tail: many queries asked once
    assert len(counts) > 1000


def test_the_repeat_share_is_what_a_cache_could_answer():
    assert repeat_share([1, 2, 1, 3, 1]) == 0.4
    assert repeat_share([1, 2, 3]) == 0.0
    share = repeat_share(zipf_sequence(POOL, 10_000, 1.0, seed=7))
    assert 0.5 < share < 0.95


def test_the_wrk_script_asks_the_sequence_with_encoded_queries():
    script = search_script(["beyoncé halo", "ac/dc"], [1, 0, 1])
    assert '"beyonc%C3%A9%20halo", "ac/dc"' in script
    assert "local sequence = {2, 1, 2}" in script
    assert "&limit=20" in script and "done = function" in script
