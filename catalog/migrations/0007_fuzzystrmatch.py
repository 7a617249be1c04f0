"""fuzzystrmatch's levenshtein_less_equal() filters typo-correction candidates in the
database (catalog.vocabulary), so that only the near ones come back; and SearchWord.songs
defaults to 0 in the database too (raw inserts of words)."""

from django.db import migrations, models


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_search_relevance")]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="searchword",
            name="songs",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
    ]
