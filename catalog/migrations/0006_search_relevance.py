"""Search relevance (issue 13): word counts on the vocabulary, a suffix index for typo
look-ups, and the artists' spellings without symbols in the search column.

- ``SearchWord.songs``: how many songs have the word; completions and corrections are ranked
  by it (catalog.vocabulary). Counted here once; imports keep it roughly, and
  ``manage.py refresh_search_words`` recounts.
- ``catalog_searchword_reverse_c``: a byte-order index on the reversed word, so that the
  words ending like a term are an index range (one typo leaves a term's start or its end
  intact; catalog.vocabulary).
- ``artists_norm`` gains ``acdc`` for *AC/DC*, ``pink`` for *P!nk* (catalog.normalize).
"""

from django.db import migrations, models
from django.db.models import Q


def forward(apps, schema_editor):
    from catalog.normalize import searchable_artists
    from catalog.vocabulary import refresh_word_counts

    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX catalog_searchword_reverse_c ON catalog_searchword "
            '((reverse(word) COLLATE "C"))'
        )
    song_model = apps.get_model("catalog", "Song")
    symbols = Q()
    for symbol in "!$.&/@+-*":
        symbols |= Q(artist_names__contains=symbol)
    changed = []
    for song in song_model.objects.filter(symbols).only("id", "artist_names", "artists_norm"):
        norm = searchable_artists(song.artist_names)[:2000]
        if norm != song.artists_norm:
            song.artists_norm = norm
            changed.append(song)
    song_model.objects.bulk_update(changed, ["artists_norm"], batch_size=1000)
    refresh_word_counts(using=schema_editor.connection)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS catalog_searchword_reverse_c")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_songreview")]

    operations = [
        migrations.AddField(
            model_name="searchword",
            name="songs",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(forward, backward),
    ]
