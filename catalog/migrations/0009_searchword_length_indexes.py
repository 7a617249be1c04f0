"""Typo candidates by length: the words of a term's length (give or take its typos) that start
or end like it are one index descent per length (``length(word) = ANY(...)`` then the prefix
range), instead of every word that starts or ends like it filtered by length. In a
vocabulary of several languages thousands of words end in ``en`` or start with ``ge``
(catalog.vocabulary)."""

from django.db import migrations

FORWARD = [
    'CREATE INDEX catalog_searchword_len_word ON catalog_searchword (length(word), (word COLLATE "C")) '
    "INCLUDE (word, songs)",
    "CREATE INDEX catalog_searchword_len_reverse ON catalog_searchword "
    '(length(word), (reverse(word) COLLATE "C")) INCLUDE (word, songs)',
    "DROP INDEX IF EXISTS catalog_searchword_reverse_cov",
]
BACKWARD = [
    'CREATE INDEX catalog_searchword_reverse_cov ON catalog_searchword ((reverse(word) COLLATE "C")) '
    "INCLUDE (word, songs)",
    "DROP INDEX IF EXISTS catalog_searchword_len_reverse",
    "DROP INDEX IF EXISTS catalog_searchword_len_word",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_searchword_covering")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
