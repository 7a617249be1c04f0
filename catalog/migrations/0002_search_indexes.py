"""Search indexes. PostgreSQL: pg_trgm, unaccent through an IMMUTABLE wrapper, a full-text
GIN index over the normalised columns, a trigram index over the distinct words (for typo
correction) and a pattern index for exact and prefix title matches. SQLite: a plain index on
the title; the rest of the SQLite search is a scan (see catalog/search.py).
"""

from django.db import migrations

# unaccent() is only STABLE (it depends on the dictionary setting), so an index expression
# cannot use it. Naming the dictionary makes the result fixed, which is what IMMUTABLE states.
PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """
    CREATE OR REPLACE FUNCTION encore_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
    """,
    # Must match catalog.search.PG_DOCUMENT exactly, or the planner will not use it.
    """
    CREATE INDEX catalog_song_search_fts ON catalog_song USING gin (
        to_tsvector('simple'::regconfig, encore_unaccent(
            title_norm || ' ' || artists_norm || ' ' || album_norm))
    )
    """,
    "CREATE INDEX catalog_song_title_norm_prefix ON catalog_song (title_norm varchar_pattern_ops)",
    "CREATE INDEX catalog_searchword_trgm ON catalog_searchword USING gin (word gin_trgm_ops)",
    # Django adds a varchar_pattern_ops twin ("..._like") to every indexed CharField. Nothing
    # here runs LIKE on these keys, and each index slows every import write: drop them.
    """
    DO $$
    DECLARE name text;
    BEGIN
        FOR name IN SELECT indexname FROM pg_indexes
            WHERE tablename IN ('catalog_song', 'catalog_artist', 'catalog_album',
                                'catalog_searchword')
              AND right(indexname, 5) = '_like'
        LOOP
            EXECUTE 'DROP INDEX ' || quote_ident(name);
        END LOOP;
    END $$
    """,
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_searchword_trgm",
    "DROP INDEX IF EXISTS catalog_song_title_norm_prefix",
    "DROP INDEX IF EXISTS catalog_song_search_fts",
    "DROP FUNCTION IF EXISTS encore_unaccent(text)",
]
SQLITE_FORWARD = ["CREATE INDEX catalog_song_title_norm_prefix ON catalog_song (title_norm)"]
SQLITE_BACKWARD = ["DROP INDEX IF EXISTS catalog_song_title_norm_prefix"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
