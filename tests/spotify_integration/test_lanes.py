"""The budget's lanes: interactive first, library second, enrichment with what they leave.

Every rule is checked on both backends (the Lua script in Redis and the in-process fallback)
with an injected clock, so no assert depends on timing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.conf import settings

from spotify_integration import ratelimit
from spotify_integration.client import SpotifyClient
from spotify_integration.exceptions import SpotifyRateLimited
from spotify_integration.ratelimit import Lane, SlidingWindowLimiter

SECOND = 1_000_000  # µs
WINDOW = 30


class Clock:
    def __init__(self) -> None:
        self.now = 1_000 * SECOND

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * SECOND)


@pytest.fixture(params=["redis", "local"])
def make_limiter(request, monkeypatch) -> Iterator[Callable[..., SlidingWindowLimiter]]:
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL) for the Lua script; the local variant runs")
    if request.param == "local":
        monkeypatch.setattr(ratelimit, "redis_client", lambda: None)
    made: list[SlidingWindowLimiter] = []

    def make(*, limit: int = 10, share: float = 0.5, reserve: float = 0) -> SlidingWindowLimiter:
        limiter = SlidingWindowLimiter(
            name=f"lanes-{request.node.name}",
            limit=limit,
            window_seconds=WINDOW,
            enrichment_share=share,
            interactive_reserve=reserve,
            clock=clock,
        )
        limiter.reset()
        made.append(limiter)
        return limiter

    clock = Clock()
    make.clock = clock  # type: ignore[attr-defined]
    yield make
    for limiter in made:
        limiter.reset()


def take(limiter: SlidingWindowLimiter, lane: Lane, n: int, **kwargs: int) -> list[bool]:
    return [limiter.try_acquire(lane, **kwargs).granted for _ in range(n)]


def test_enrichment_alone_may_use_the_whole_budget(make_limiter):
    limiter = make_limiter(limit=10, share=0.5)
    assert take(limiter, Lane.ENRICHMENT, 10) == [True] * 10
    refused = limiter.try_acquire(Lane.ENRICHMENT)
    assert (refused.granted, refused.reason) == (False, "budget")
    assert refused.wait_us == WINDOW * SECOND  # all ten were taken at the same instant


def test_enrichment_keeps_to_its_share_while_others_are_active(make_limiter):
    limiter = make_limiter(limit=10, share=0.5)
    clock = make_limiter.clock
    assert limiter.try_acquire(Lane.INTERACTIVE).granted  # a person searched
    clock.advance(1)
    assert take(limiter, Lane.ENRICHMENT, 5) == [True] * 5
    refused = limiter.try_acquire(Lane.ENRICHMENT)
    assert (refused.granted, refused.reason) == (False, "share")
    # ... the rest stays for people and library syncs
    assert take(limiter, Lane.INTERACTIVE, 2) + take(limiter, Lane.LIBRARY, 2) == [True] * 4
    # Once no other lane has called within the window, enrichment may fill it again.
    clock.advance(WINDOW)
    assert take(limiter, Lane.ENRICHMENT, 10) == [True] * 10


def test_share_wait_ends_when_others_go_quiet_or_a_share_slot_frees(make_limiter):
    limiter = make_limiter(limit=10, share=0.5)
    clock = make_limiter.clock
    take(limiter, Lane.ENRICHMENT, 5)
    clock.advance(10)
    assert limiter.try_acquire(Lane.LIBRARY).granted
    refused = limiter.try_acquire(Lane.ENRICHMENT)
    # The oldest enrichment grant leaves in 20 s, the library one in 30 s: the sooner.
    assert (refused.reason, refused.wait_us) == ("share", 20 * SECOND)


def test_a_waiting_person_goes_before_enrichment(make_limiter):
    limiter = make_limiter(limit=4, share=0.5)
    clock = make_limiter.clock
    take(limiter, Lane.ENRICHMENT, 4)  # enrichment filled the window while nobody was around
    clock.advance(WINDOW - 1)
    # A person arrives: the window is full for 1 s more, so they wait (up to 2 s) and say so.
    waiting = limiter.try_acquire(Lane.INTERACTIVE, demand_ms=2000)
    assert (waiting.granted, waiting.reason, waiting.wait_us) == (False, "budget", SECOND)
    clock.advance(1)  # slots free up; enrichment asks first but must let the person go
    refused = limiter.try_acquire(Lane.ENRICHMENT)
    assert (refused.granted, refused.reason) == (False, "priority")
    assert limiter.try_acquire(Lane.INTERACTIVE).granted
    assert limiter.try_acquire(Lane.ENRICHMENT).granted  # served: enrichment goes on


def test_a_waiting_person_goes_before_library_sync_and_library_before_enrichment(make_limiter):
    limiter = make_limiter(limit=2, share=1.0)
    clock = make_limiter.clock
    take(limiter, Lane.LIBRARY, 2)
    clock.advance(WINDOW - 1)
    assert not limiter.try_acquire(Lane.INTERACTIVE, demand_ms=2000).granted
    assert not limiter.try_acquire(Lane.LIBRARY, demand_ms=60_000).granted
    clock.advance(1)
    assert limiter.try_acquire(Lane.LIBRARY).reason == "priority"
    assert limiter.try_acquire(Lane.ENRICHMENT).reason == "priority"
    assert limiter.try_acquire(Lane.INTERACTIVE).granted
    assert limiter.try_acquire(Lane.ENRICHMENT).reason == "priority"  # library still waits
    assert limiter.try_acquire(Lane.LIBRARY).granted


def test_jobs_leave_the_interactive_reserve_to_people(make_limiter):
    limiter = make_limiter(limit=20, share=1.0, reserve=0.1)  # 2 slots kept for people
    clock = make_limiter.clock
    assert take(limiter, Lane.ENRICHMENT, 10) + take(limiter, Lane.LIBRARY, 8) == [True] * 18
    clock.advance(5)
    for lane in (Lane.ENRICHMENT, Lane.LIBRARY):
        refused = limiter.try_acquire(lane)
        # The first of the 18 leaves in 25 s and one slot outside the reserve is free again.
        assert (refused.granted, refused.reason, refused.wait_us) == (False, "reserve", 25 * SECOND)
    assert take(limiter, Lane.INTERACTIVE, 3) == [True, True, False]


def test_a_demand_mark_lapses_after_the_callers_wait(make_limiter):
    limiter = make_limiter(limit=1, share=1.0)
    clock = make_limiter.clock
    take(limiter, Lane.ENRICHMENT, 1)
    # A person who may wait 2 s, for a slot 30 s away: they give up; the mark lasts their wait.
    assert not limiter.try_acquire(Lane.INTERACTIVE, demand_ms=2000).granted
    clock.advance(WINDOW)
    assert limiter.try_acquire(Lane.ENRICHMENT).granted


def test_lanes_never_exceed_the_budget_together(make_limiter):
    limiter = make_limiter(limit=6, share=0.5)
    clock = make_limiter.clock
    granted = 0
    for step in range(300):  # every lane asks every 0.5 s for 150 s
        clock.advance(0.5)
        for lane in (Lane.ENRICHMENT, Lane.LIBRARY, Lane.INTERACTIVE):
            if step % 3 or lane is Lane.ENRICHMENT:
                granted += limiter.try_acquire(lane, demand_ms=2000).granted
    # 150 s is 5 windows of 6 calls: never more than 6 in any 30 s.
    assert granted <= 6 * (150 // WINDOW + 1)


def test_interactive_callers_get_429_after_their_short_wait(make_limiter):
    limiter = make_limiter(limit=1)
    limiter.acquire(max_wait=0, lane=Lane.INTERACTIVE)
    with pytest.raises(SpotifyRateLimited) as exc:
        limiter.acquire(max_wait=0, lane=Lane.INTERACTIVE)
    assert exc.value.detail == {"reason": "LOCAL_BUDGET", "lane": "interactive"}


def test_clients_name_their_lane(settings):
    assert SpotifyClient.for_app().lane is Lane.INTERACTIVE
    assert SpotifyClient.for_app(lane=Lane.ENRICHMENT).lane is Lane.ENRICHMENT
    settings.SPOTIFY_RATE_LIMIT_WAIT = 2
    settings.SPOTIFY_BACKGROUND_WAIT = 120
    assert ratelimit.lane_max_wait(Lane.INTERACTIVE) == 2
    assert ratelimit.lane_max_wait(Lane.ENRICHMENT) == ratelimit.lane_max_wait(Lane.LIBRARY) == 120


@pytest.mark.django_db
def test_a_connection_client_is_library_sync_by_default():
    from spotify_integration.services.connections import ConnectionTokenStore
    from tests.spotify_integration.factories import SpotifyConnectionFactory

    connection = SpotifyConnectionFactory()
    store = ConnectionTokenStore()
    assert SpotifyClient.for_connection(connection, token_store=store).lane is Lane.LIBRARY
    person = SpotifyClient.for_connection(connection, token_store=store, lane=Lane.INTERACTIVE)
    assert person.lane is Lane.INTERACTIVE


def test_the_window_is_a_setting(settings):
    settings.SPOTIFY_RATE_LIMIT_WINDOW = 3
    settings.SPOTIFY_ENRICHMENT_SHARE = 0.25
    settings.SPOTIFY_RATE_LIMIT_CALLS = 8
    settings.SPOTIFY_INTERACTIVE_RESERVE = 0.25
    limiter = ratelimit.spotify_limiter()
    assert (limiter.window_us, limiter.enrichment_cap, limiter.interactive_reserve) == (
        3 * SECOND,
        2,
        2,
    )
