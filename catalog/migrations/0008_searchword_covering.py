"""The vocabulary's byte-order indexes carry the word and its song count, so that the range
look-ups of catalog.vocabulary (completions by frequency, typo candidates by start and end)
are index-only scans instead of a heap visit for each word in range."""

from django.db import migrations

FORWARD = [
    'CREATE INDEX catalog_searchword_word_cov ON catalog_searchword (word COLLATE "C") '
    "INCLUDE (word, songs)",
    "DROP INDEX IF EXISTS catalog_searchword_word_c",
    'CREATE INDEX catalog_searchword_reverse_cov ON catalog_searchword ((reverse(word) COLLATE "C")) '
    "INCLUDE (word, songs)",
    "DROP INDEX IF EXISTS catalog_searchword_reverse_c",
]
BACKWARD = [
    'CREATE INDEX catalog_searchword_word_c ON catalog_searchword (word COLLATE "C")',
    "DROP INDEX IF EXISTS catalog_searchword_word_cov",
    'CREATE INDEX catalog_searchword_reverse_c ON catalog_searchword ((reverse(word) COLLATE "C"))',
    "DROP INDEX IF EXISTS catalog_searchword_reverse_cov",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_fuzzystrmatch")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
