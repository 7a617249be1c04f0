"""Tantivy, the reference engine of bench/relevance.py: an index of the catalog's search
columns and a query per search-box text (each word whole, as a prefix, or with typos)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

FIELDS = {"title": 3.0, "artists": 2.0, "album": 1.0}


def _build(path: Path):
    import tantivy
    from django.db import connection

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for field in FIELDS:
        builder.add_text_field(field, stored=False, tokenizer_name="default")
    schema = builder.build()
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    index = tantivy.Index(schema, path=str(path))
    writer = index.writer(heap_size=300_000_000)
    started = time.perf_counter()
    from django.db import transaction

    with transaction.atomic(), connection.connection.cursor(name="tantivy_export") as cursor:
        cursor.itersize = 20000
        cursor.execute("SELECT id, title_norm, artists_norm, album_norm FROM catalog_song")
        n = 0
        for song_id, title, artists, album in cursor:
            writer.add_document(
                tantivy.Document(id=song_id, title=title, artists=artists, album=album)
            )
            n += 1
    writer.commit()
    writer.wait_merging_threads()
    print(f"tantivy: indexed {n:,} songs in {time.perf_counter() - started:.0f} s")
    return index


def tantivy_engine(database: str, *, rebuild: bool = False) -> Callable[[str], list[int]]:
    import tantivy

    from catalog.models import Song
    from catalog.normalize import normalize
    from catalog.vocabulary import allowed_typos

    path = Path(tempfile.gettempdir()) / f"encore-tantivy-{database}"
    index = None if rebuild or not (path / "meta.json").exists() else tantivy.Index.open(str(path))
    if index is not None:
        index.reload()
    if index is None or index.searcher().num_docs != Song.objects.count():
        index = _build(path)  # none yet, or one of another catalog, or a broken build
        index.reload()
    schema = index.schema
    searcher = index.searcher()

    def word_query(word: str):
        options = []
        for field, boost in FIELDS.items():
            options.append(
                tantivy.Query.boost_query(tantivy.Query.term_query(schema, field, word), boost * 2)
            )
            options.append(
                tantivy.Query.boost_query(
                    tantivy.Query.fuzzy_term_query(schema, field, word, distance=0, prefix=True),
                    boost * 1.5,
                )
            )
            if allowed_typos(word):
                options.append(
                    tantivy.Query.boost_query(
                        tantivy.Query.fuzzy_term_query(
                            schema, field, word, distance=allowed_typos(word), prefix=True
                        ),
                        boost,
                    )
                )
        return tantivy.Query.disjunction_max_query(options)

    def search(q: str) -> list[int]:
        words = normalize(q).split()
        if not words:
            return []
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, word_query(w)) for w in words])
        hits = searcher.search(query, 10).hits
        return [searcher.doc(address)["id"][0] for _, address in hits]

    return search
