"""A byte-order index on the search vocabulary, for prefix ranges under any collation.

Search looks up the words that start with a term as the range ``word >= term AND word <
term || U+10FFFF``. That is a prefix range only when words compare by code point; on a
database created with a language collation they do not, so the queries compare
``word COLLATE "C"`` and this index serves them. (SQLite compares bytes already.)
"""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX catalog_searchword_word_c ON catalog_searchword (word COLLATE "C")'
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS catalog_searchword_word_c")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_search_indexes")]

    operations = [migrations.RunPython(forward, backward)]
