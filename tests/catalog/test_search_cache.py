"""The search cache (catalog.search_cache, catalog.version): a repeated search is answered from
the shared cache, and never once the catalog changed, whatever wrote to it (issue 14's
throughput)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from django.test import TestCase

from catalog import search_cache, version
from catalog.models import Album, Artist, SearchWord, Song, SongArtist
from catalog.records import SongRecord
from catalog.search import SearchFilters, song_search
from catalog.serializers import song_data
from catalog.services import song_records_upsert
from catalog.version import VERSION_KEY, catalog_changed
from catalog.vocabulary import refresh_word_counts
from core.shared_state import cache_failure_reset, cache_recently_failed
from tests.catalog.factories import SongFactory
from tests.faults import redis_hung, redis_refused

SEARCH = "/api/songs/search/"


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("search_cache_on")]


def search(api_client, q: str, **params) -> dict:
    response = api_client.get(SEARCH, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def titles(body: dict) -> list[str]:
    return [hit["song"]["title"] for hit in body["results"]]


def committed(write: Callable[[], object]) -> None:
    """Run a write as if in its own committed transaction: its on-commit callbacks (the
    version bump) run as it ends (the test's own transaction never commits)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        write()


def test_a_repeated_search_is_answered_from_the_cache_with_the_same_body(api_client):
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    SongFactory(title="Bohemian Like You", artists=["The Dandy Warhols"])

    first = search(api_client, "bohemian")
    again = search(api_client, "Bohemian ")  # the same once normalised

    assert first["sources"]["local"]["cached"] is False
    assert again["sources"]["local"]["cached"] is True
    for body in (first, again):
        body.pop("took_ms"), body["sources"]["local"].pop("took_ms")
        body["sources"]["local"].pop("cached"), body["sources"]["spotify"].pop("took_ms")
        body["query"].pop("q")
    assert again == first


def test_limit_offset_and_filters_are_searches_of_their_own(api_client):
    SongFactory(title="Halo", artists=["Beyoncé"], release_year=2008)
    SongFactory(title="Halo", artists=["Depeche Mode"], release_year=1990)
    search(api_client, "halo")

    assert search(api_client, "halo", limit=1)["sources"]["local"]["cached"] is False
    assert search(api_client, "halo", offset=1)["sources"]["local"]["cached"] is False
    filtered = search(api_client, "halo", year_max=2000)
    assert filtered["sources"]["local"]["cached"] is False
    assert [h["song"]["artist_names"] for h in filtered["results"]] == ["Depeche Mode"]
    assert search(api_client, "halo", year_max=2000)["sources"]["local"]["cached"] is True


def _rename_artist() -> None:
    artist = Artist.objects.get(name="Queen")
    artist.name = "Queen Reborn"
    artist.save()


WRITES: dict[str, Callable[[], object]] = {
    "a song saved": lambda: SongFactory(title="Bohemian Grove", artists=["Someone"]),
    "a song deleted": lambda: Song.objects.get(title="Bohemian Rhapsody").delete(),
    "songs deleted in bulk": lambda: Song.objects.filter(title__startswith="Bohemian").delete(),
    "QuerySet.update": lambda: Song.objects.update(explicit=True),
    "bulk_update": lambda: Song.objects.bulk_update(
        [Song(pk=s.pk, popularity=99) for s in Song.objects.all()], ["popularity"]
    ),
    "an artist renamed": _rename_artist,
    "an album saved": lambda: Album.objects.create(title="News", album_key="news|queen"),
    "a song's artists changed": lambda: SongArtist.objects.filter(position=0).delete(),
    "a word added": lambda: SearchWord.objects.bulk_create([SearchWord(word="bohemianz")]),
    "an import": lambda: song_records_upsert(
        records=[SongRecord(title="Bohemian Waltz", artists=["Strauss"])]
    ),
    "the word counts refreshed": refresh_word_counts,
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_any_catalog_write_makes_every_kept_search_out_of_date(api_client, write):
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")
    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is True
    before = cache.get(VERSION_KEY)

    committed(WRITES[write])

    assert cache.get(VERSION_KEY) != before
    body = search(api_client, "bohemian")
    assert body["sources"]["local"]["cached"] is False
    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is True


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_a_write_outside_a_transaction_moves_the_version_after_its_rows(write):
    # Outside a transaction on_commit runs at once: a bump made before the write's statement
    # lets a search read the new version and the old rows, and keep them under that version
    # (a stale entry served until the next write). The last write must come before a bump.
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    seen: list[object] = []

    def note(execute, sql, params, many, context):
        if "catalog_" in sql and sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(cache.get(VERSION_KEY))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        WRITES[write]()

    assert seen, "the write wrote no catalog row"
    assert cache.get(VERSION_KEY) != seen[-1]


def test_an_import_shows_its_songs_in_the_next_search(api_client):
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    assert titles(search(api_client, "bohemian")) == ["Bohemian Rhapsody"]

    committed(lambda: song_records_upsert(records=[SongRecord(title="Bohemian", artists=["X"])]))

    assert sorted(titles(search(api_client, "bohemian"))) == ["Bohemian", "Bohemian Rhapsody"]


def test_an_import_of_unchanged_songs_keeps_the_cache(api_client):
    record = SongRecord(title="Bohemian Rhapsody", artists=["Queen"])
    committed(lambda: song_records_upsert(records=[record]))
    search(api_client, "bohemian")

    committed(lambda: song_records_upsert(records=[record]))

    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is True


def test_a_write_committed_while_a_search_runs_never_leaves_a_stale_entry(api_client):
    # The version is read before the search: a write committing meanwhile (here, inside the
    # search itself) leaves the result under the version before it.
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])

    def search_then_write(**kwargs):
        result = song_search(**kwargs)
        committed(lambda: SongFactory(title="Bohemian Grove", artists=["Someone"]))
        return result

    stale = search_cache.cached_search(
        search_then_write, query="bohemian", filters=SearchFilters(), limit=20, offset=0,
        represent=song_data,
    )  # fmt: skip
    assert [h.song.title for h in stale.results] == ["Bohemian Rhapsody"]

    body = search(api_client, "bohemian")
    assert body["sources"]["local"]["cached"] is False
    assert sorted(titles(body)) == ["Bohemian Grove", "Bohemian Rhapsody"]


def test_a_write_inside_a_transaction_bumps_only_when_it_commits(api_client):
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")
    before = cache.get(VERSION_KEY)
    with TestCase.captureOnCommitCallbacks(execute=True):
        SongFactory(title="Bohemian Grove")
        assert cache.get(VERSION_KEY) == before  # not yet: the write is not committed
    assert cache.get(VERSION_KEY) != before


def test_a_lost_version_counter_makes_every_entry_out_of_date(api_client):
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")
    cache.delete(VERSION_KEY)  # Redis restarted without its data, or evicted the counter

    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is False
    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is True


def test_a_bump_that_failed_is_made_at_the_next_look_up(api_client):
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")
    before = cache.get(VERSION_KEY)

    with redis_refused():
        committed(lambda: Song.objects.update(explicit=True))
    assert cache.get(VERSION_KEY) == before
    cache_failure_reset()  # the few seconds without the cache are over

    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is False
    assert cache.get(VERSION_KEY) != before


def test_while_redis_is_down_a_write_does_not_wait_on_it_again(monkeypatch):
    # A hung Redis costs a socket timeout per try: one per process every few seconds, as for
    # every other use of the cache, not one per committed write (an import's every batch).
    tries: list[str] = []

    class Down:
        def incr(self, key, *args, **kwargs):
            tries.append(key)
            raise redis.exceptions.TimeoutError("hung")

        set = incr

    monkeypatch.setattr(version, "cache", Down())
    try:
        for _ in range(3):
            committed(catalog_changed)

        assert tries == [VERSION_KEY]
        assert version._pending.is_set()  # made at the next look-up once Redis is back
    finally:
        version._pending.clear()


@pytest.mark.loopback
@pytest.mark.parametrize("fault", [redis_refused, redis_hung])
def test_search_answers_without_the_cache_when_redis_fails(api_client, fault):
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")

    with fault():
        body = search(api_client, "bohemian")
        assert body["sources"]["local"]["cached"] is False
        assert titles(body) == ["Bohemian Rhapsody"]
        assert cache_recently_failed()


def test_the_cache_off_keeps_nothing(api_client, settings):
    settings.SEARCH_CACHE_SECONDS = 0
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")

    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is False
    assert cache.get(VERSION_KEY) is None
    catalog_changed()
    assert cache.get(VERSION_KEY) is None


def test_an_entry_key_is_short_whatever_the_query(settings):
    long_query = "word " * 40
    key = search_cache.entry_key(long_query, SearchFilters(artist="x" * 200), 100, 500)
    assert len(key) < 60
    assert key != search_cache.entry_key(long_query, SearchFilters(), 100, 500)


@pytest.mark.parametrize(
    "kept",
    [
        b"\x80\x04not a pickle",
        ("an", "entry", "of", "another", "shape"),
        ("no version", [1, 2]),
    ],
    ids=["unreadable", "another-shape", "another-format"],
)
def test_an_entry_this_code_cannot_read_is_searched_again_and_replaced(api_client, kept):
    # A release that changed the entries' format (or a corrupt value) never fails a search.
    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")
    key = search_cache.entry_key("bohemian", SearchFilters(), 20, 0)
    if isinstance(kept, bytes):
        raw = cache.client.get_client() if hasattr(cache, "client") else None
        if raw is None:
            pytest.skip("writing raw bytes needs Redis")
        raw.set(cache.make_key(key), kept)
    else:
        cache.set(key, kept)

    body = search(api_client, "bohemian")

    assert body["sources"]["local"]["cached"] is False
    assert titles(body) == ["Bohemian Rhapsody"]
    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is True


def test_a_migrate_makes_every_kept_search_out_of_date(api_client):
    # A deploy runs migrate: songs kept as the old code showed them are not served after it.
    from django.core.management import call_command

    SongFactory(title="Bohemian Rhapsody", artists=["Queen"])
    search(api_client, "bohemian")
    before = cache.get(VERSION_KEY)

    committed(lambda: call_command("migrate", "catalog", verbosity=0))

    assert cache.get(VERSION_KEY) != before
    assert search(api_client, "bohemian")["sources"]["local"]["cached"] is False
