import pytest
from django.db import connection

from catalog.records import SongRecord
from catalog.search import PG_DOCUMENT, SearchFilters, song_search
from catalog.services import song_records_upsert
from catalog.vocabulary import allowed_typos
from tests.catalog.factories import SongFactory

pytestmark = pytest.mark.django_db


def titles(query: str, **kwargs) -> list[tuple[str, str]]:
    result = song_search(query=query, **kwargs)
    return [(hit.song.title, hit.song.artist_names) for hit in result.results]


def test_accents_and_case_are_ignored(demo_catalog):
    assert ("Halo", "Beyoncé") in titles("beyonce")
    assert titles("sigur ros")[0][1] == "Sigur Rós"
    assert titles("HOPPIPOLLA")[0] == ("Hoppípolla", "Sigur Rós")
    assert titles("Beyoncé halo")[0] == ("Halo", "Beyoncé")


def test_prefixes_match_as_you_type(demo_catalog):
    assert titles("bohem rhap")[0] == ("Bohemian Rhapsody", "Queen")
    assert titles("bohemian rh")[0] == ("Bohemian Rhapsody", "Queen")


def test_typos_are_tolerated(demo_catalog):
    # a swap of neighbours in an 8-letter word, a missing letter in a 7-letter word
    assert titles("bohemain rapsody")[0] == ("Bohemian Rhapsody", "Queen")
    result = song_search(query="bohemain rapsody")
    assert [t.corrections for t in result.terms] == [["bohemian"], ["rhapsody"]]


def test_two_typos_from_nine_letters_one_from_five_none_below(db):
    song_records_upsert(records=[
        SongRecord(title="Thunderstruck", artists=["AC/DC"], album="The Razors Edge"),
        SongRecord(title="Queen of Hearts", artists=["Someone"]),
    ])  # fmt: skip
    assert allowed_typos("thunderst") == 2 and allowed_typos("queen") == 1
    assert allowed_typos("quen") == 0
    assert titles("thundrstruk") == [("Thunderstruck", "AC/DC")]  # two edits, 11 letters
    assert titles("thndrstrk") == []  # three edits is too many
    assert titles("qeuen") == [("Queen of Hearts", "Someone")]  # one swap, 5 letters
    assert titles("qeeun") == []  # two edits in a 5-letter word is too many
    assert titles("qeen") == []  # 4 letters: no typo allowed


def test_word_order_is_free(demo_catalog):
    assert titles("queen bohemian")[0] == ("Bohemian Rhapsody", "Queen")
    assert titles("rhapsody bohemian")[0] == ("Bohemian Rhapsody", "Queen")


def test_exact_title_ranks_above_partial_matches(db):
    song_records_upsert(records=[
        SongRecord(title="Love Story", artists=["Taylor Swift"], popularity=99),
        SongRecord(title="Crazy Little Thing Called Love", artists=["Queen"], popularity=99),
        SongRecord(title="Love", artists=["Kendrick Lamar"], popularity=10),
        SongRecord(title="Love - Live at Wembley", artists=["Kendrick Lamar"], popularity=50),
    ])  # fmt: skip
    ranked = titles("love")
    assert ranked[0] == ("Love", "Kendrick Lamar")  # exact, despite low popularity
    # titles that start with the query, then a title that merely contains it
    assert set(ranked[1:3]) == {("Love Story", "Taylor Swift"),
                                ("Love - Live at Wembley", "Kendrick Lamar")}  # fmt: skip
    assert ranked[3] == ("Crazy Little Thing Called Love", "Queen")


def test_filters_narrow_the_results(demo_catalog):
    assert titles("halo", filters=SearchFilters(artist="depeche")) == [("Halo", "Depeche Mode")]
    assert titles("halo", filters=SearchFilters(year_max=2000)) == [("Halo", "Depeche Mode")]
    assert titles("halo", filters=SearchFilters(year_min=2005)) == [("Halo", "Beyoncé")]
    assert titles("halo", filters=SearchFilters(album="sasha")) == [("Halo", "Beyoncé")]
    assert titles("halo", filters=SearchFilters(has_spotify_id=True)) == []
    assert len(titles("halo", filters=SearchFilters(has_spotify_id=False))) == 2
    explicit = song_search(query="the", filters=SearchFilters(explicit=True), limit=100)
    assert explicit.results and all(hit.song.explicit for hit in explicit.results)


def test_limit_offset_and_total(demo_catalog):
    everything = song_search(query="love", limit=100)
    assert everything.total == len(everything.results) and everything.total_is_exact
    page = song_search(query="love", limit=5, offset=5)
    assert [h.song.id for h in page.results] == [h.song.id for h in everything.results[5:10]]


def test_query_as_understood(demo_catalog):
    result = song_search(query="  Bohemain   RHAPSODY!! ")
    assert result.normalized == "bohemain rhapsody"
    assert [t.text for t in result.terms] == ["bohemain", "rhapsody"]
    assert result.took_ms >= 0


def test_a_query_with_no_searchable_characters_finds_nothing(demo_catalog):
    result = song_search(query="!!! ???")
    assert result.results == [] and result.total == 0


def test_postgres_search_uses_the_indexes(demo_catalog):
    if connection.vendor != "postgresql":
        pytest.skip("the index plan is PostgreSQL's")
    with connection.cursor() as cursor:
        # A vocabulary of realistic size, so the planner has a reason to use the index.
        cursor.execute(
            "INSERT INTO catalog_searchword (word) "
            "SELECT md5(i::text) FROM generate_series(1, 50000) AS i"
        )
        cursor.execute("SELECT gin_clean_pending_list('catalog_searchword_trgm')")
        cursor.execute("ANALYZE catalog_searchword")
        cursor.execute("SET LOCAL enable_seqscan = off")  # few songs: ask what it *can* use
        cursor.execute(
            f"EXPLAIN SELECT id FROM catalog_song WHERE {PG_DOCUMENT} @@ "
            "to_tsquery('simple', 'bohem:* & rhap:*')"
        )
        fts_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN SELECT id FROM catalog_song WHERE title_norm LIKE 'bohemian%'")
        title_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
        cursor.execute(
            "EXPLAIN SELECT word FROM catalog_searchword WHERE word % 'bohemain' "
            "ORDER BY word <-> 'bohemain' LIMIT 30"
        )
        word_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(
            "EXPLAIN SELECT word FROM catalog_searchword WHERE word COLLATE \"C\" >= 'boh' "
            'AND word COLLATE "C" < \'boh\U0010ffff\' ORDER BY word COLLATE "C" LIMIT 51'
        )
        range_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(
            "EXPLAIN SELECT word FROM catalog_searchword WHERE length(word) = ANY('{7,8,9}') "
            "AND reverse(word) COLLATE \"C\" >= 'nia' "
            "AND reverse(word) COLLATE \"C\" < 'nia\U0010ffff'"
        )
        suffix_plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_searchword_len_reverse" in suffix_plan
    assert "catalog_song_search_fts" in fts_plan
    assert "catalog_song_title_norm_prefix" in title_plan
    assert "catalog_searchword_trgm" in word_plan
    assert "catalog_searchword_word_cov" in range_plan


def test_a_song_saved_one_by_one_is_found_by_prefix_and_typo(db):
    SongFactory(title="Zanzibar Nights", artist_names="Ólafur Arnalds")
    assert titles("zanzib") == [("Zanzibar Nights", "Ólafur Arnalds")]
    assert titles("olafur zanizbar") == [("Zanzibar Nights", "Ólafur Arnalds")]


def test_one_and_two_letter_prefixes(db):
    # Sixty words start with "bo": too many to expand, so "bo" alone looks at titles.
    song_records_upsert(records=[
        *(SongRecord(title=f"Bo{chr(97 + i // 26)}{chr(97 + i % 26)} Song", artists=["X"])
          for i in range(60)),
        SongRecord(title="Bohemian Rhapsody", artists=["Queen"]),
        SongRecord(title="Under Pressure", artists=["Queen", "David Bowie"]),
    ])  # fmt: skip
    found = titles("bo", limit=100)
    assert len(found) == 61 and all(t.lower().startswith("bo") for t, _ in found)
    # Beside a longer word it still has to start a word of the song.
    assert titles("queen b") == [
        ("Bohemian Rhapsody", "Queen"),
        ("Under Pressure", "Queen, David Bowie"),
    ]


def test_an_exact_title_is_found_when_more_titles_start_with_it_than_the_cap(db, settings):
    settings.SEARCH_CANDIDATE_CAP = 5
    if connection.vendor == "postgresql":
        # As on a big table: rows come in table order, not in the title index's order.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
    song_records_upsert(
        records=[SongRecord(title=f"Love Song {n}", artists=[f"Band {n}"]) for n in range(30)]
        + [SongRecord(title="Love", artists=["The Last One"])]
    )
    result = song_search(query="love")
    assert (result.results[0].song.title, result.results[0].song.artist_names) == (
        "Love",
        "The Last One",
    )
    assert not result.total_is_exact
