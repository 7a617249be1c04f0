"""The search traffic of bench/load.py: many distinct queries, some asked far more than others.

A search box's traffic is not a handful of queries on repeat, nor every query new: a few
(the hits of the day) are asked again and again and most are asked once or twice, the
long tail of query logs. So the mix is:

- a *pool* of distinct queries of every kind bench/relevance.py measures (exact titles,
  title + artist, artist + title, accents dropped, case, a last word cut short, every word
  cut, one and two typos, a typo that is a real word, punctuation, long titles, famous
  songs), drawn from the catalog itself with a seed, plus bench/search.py's fixed mix;
- a *sequence* of requests drawn from the pool by Zipf's law (the k-th most asked query
  asked in proportion to 1/k^s, s = 1 by default, as query logs measure), the popularity
  order a seeded shuffle of the pool, so no kind is favoured.

How often a query repeats, and so what a cache can answer, follows from the pool's size and
``s``: bench/load.py prints the share it measured (``cached`` in each response's sources).
Each wrk run goes on where the previous one stopped in the sequence, each wrk thread at its
own place in it, so no run replays what another asked.
"""

from __future__ import annotations

import bisect
import itertools
import random
from urllib.parse import quote

from bench.search import QUERIES

DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50=%.2f p95=%.2f p99=%.2f errors=%d non2xx=%d n=%d\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status, summary.requests))
end
"""


def query_pool(distinct: int, seed: int) -> list[str]:
    """About ``distinct`` different queries (Django set up on the benchmark catalog)."""
    from bench.relevance import KINDS, queries

    per_kind = max(1, distinct // len(KINDS))
    pool = list(dict.fromkeys([q for group in QUERIES.values() for q in group]))
    pool += [q for _, q, _ in queries(seed, per_kind)]
    return list(dict.fromkeys(pool))


def zipf_sequence(pool: list[str], length: int, s: float, seed: int) -> list[int]:
    """``length`` indexes into ``pool``: the k-th most popular drawn with weight 1/k^s."""
    rng = random.Random(seed)
    order = list(range(len(pool)))
    rng.shuffle(order)  # which query is the most asked: any kind
    cumulative = list(itertools.accumulate(1 / (k**s) for k in range(1, len(pool) + 1)))
    total = cumulative[-1]
    return [order[bisect.bisect(cumulative, rng.random() * total)] for _ in range(length)]


def repeat_share(sequence: list[int]) -> float:
    """The share of requests that repeat an earlier one in the sequence (what an unbounded,
    never invalidated cache could answer)."""
    seen: set[int] = set()
    repeats = 0
    for i in sequence:
        repeats += i in seen
        seen.add(i)
    return repeats / len(sequence)


def search_script(pool: list[str], sequence: list[int], limit: int = 20) -> str:
    """A wrk script: thread t of n starts at ``start + t * len(sequence) / n`` (the script's
    arguments: ``start n``) and asks the sequence's queries in turn."""
    queries = ", ".join(f'"{quote(q)}"' for q in pool)
    indexes = ", ".join(str(i + 1) for i in sequence)  # Lua tables count from 1
    return (
        f"""
local queries = {{{queries}}}
local sequence = {{{indexes}}}
local made = 0
setup = function(thread)
  thread:set("nth", made)
  made = made + 1
end
local position = 0
init = function(args)
  local start, threads = tonumber(args[1] or "0"), tonumber(args[2] or "1")
  position = start + (nth or 0) * math.floor(#sequence / threads)
end
request = function()
  position = position + 1
  local q = queries[sequence[(position % #sequence) + 1]]
  return wrk.format("GET", "/api/songs/search/?q=" .. q .. "&limit={limit}")
end
"""
        + DONE_HOOK
    )
