import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from catalog.models import Song
from catalog.services import song_import
from tests.catalog.samples import GOOD


@pytest.mark.django_db
def test_import_command_prints_a_summary_and_errors(write_file, capsys):
    path = write_file("cmd.csv", GOOD + ",x,y,1,,,,\n")
    call_command("import_songs", str(path))
    out, err = capsys.readouterr()
    assert "created 3, updated 0, unchanged 0, skipped 1" in out
    assert "line 5: title: missing" in err


@pytest.mark.django_db
def test_import_command_strict_fails_and_names_the_count(write_file):
    path = write_file("cmd.csv", GOOD + ",x,y,1,,,,\n")
    with pytest.raises(CommandError, match="1 bad rows, nothing was written"):
        call_command("import_songs", str(path), "--strict")
    assert not Song.objects.exists()


@pytest.mark.django_db
def test_export_command_writes_a_file_import_reads(tmp_path, write_file, capsys):
    song_import(path=write_file("in.csv", GOOD))
    out_path = tmp_path / "out.jsonl"
    call_command("export_songs", str(out_path))
    assert "exported 3 songs" in capsys.readouterr().out
    first = json.loads(out_path.read_text().splitlines()[0])
    assert first["artists"] == ["Queen"] and first["release_date"] == "1975-10-31"


@pytest.mark.django_db
def test_load_demo_catalog_is_deterministic(capsys):
    call_command("load_demo_catalog", "--size", "600")
    assert "created 600" in capsys.readouterr().out
    titles = list(Song.objects.order_by("id").values_list("title", "artist_names"))
    call_command("load_demo_catalog", "--size", "600", "--force")
    assert "unchanged 600" in capsys.readouterr().out
    assert list(Song.objects.order_by("id").values_list("title", "artist_names")) == titles
    assert Song.objects.filter(title="Bohemian Rhapsody", artist_names="Queen").exists()
    # Realistic text: accents, featured artists, remasters and live versions.
    assert Song.objects.filter(title__contains="(feat. ").exists()
    assert Song.objects.filter(title__contains="Remastered").exists()
    assert Song.objects.filter(title__contains="- Live at").exists()
    assert Song.objects.filter(artist_names__regex=r"[À-ž]").exists()
    shared = (
        Song.objects.values("title_norm")
        .annotate(artists=Count("artist_names", distinct=True))
        .filter(artists__gt=1)
    )
    assert shared.exists()


@pytest.mark.django_db
def test_loading_the_demo_again_leaves_the_users_edits_alone(capsys):
    """`make run` loads the demo every time: the second load must not undo an edit."""
    call_command("load_demo_catalog", "--size", "300")
    song = Song.objects.get(title="Bohemian Rhapsody", artist_names="Queen")
    song.release_date = date(1976, 1, 2)
    song.save()
    capsys.readouterr()

    call_command("load_demo_catalog", "--size", "300")

    assert "not loaded, the catalog has 300 songs already" in capsys.readouterr().out
    song.refresh_from_db()
    assert song.release_date == date(1976, 1, 2) and Song.objects.count() == 300
