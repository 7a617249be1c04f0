import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_is_200_when_database_and_cache_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_cache_is_down(client):
    # A real Redis client pointed at a port where nothing listens.
    dead = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    with override_settings(CACHES=dead):
        from django.core.cache import caches

        caches._settings = caches.settings = dead
        caches._connections.__dict__.pop("default", None)
        try:
            response = client.get("/healthz")
        finally:
            del caches._settings
            caches._connections.__dict__.pop("default", None)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["ok"] is False and body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_each_request_is_logged_with_its_timing(client, caplog):
    with caplog.at_level(logging.INFO, logger="encore.request"):
        response = client.get("/healthz?secret=abc")
    record = next(r for r in caplog.records if r.name == "encore.request")
    assert record.path == "/healthz" and record.status == 200 and record.method == "GET"
    assert record.duration_ms >= 0 and record.request_id == response["X-Request-ID"]
    assert "secret" not in record.getMessage()


def test_json_formatter_emits_one_object_with_extras():
    from core.logging import JsonFormatter

    record = logging.makeLogRecord({"msg": "hello %s", "args": ("x",), "name": "t",
                                    "levelname": "INFO", "duration_ms": 1.5})  # fmt: skip
    import json

    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello x" and line["duration_ms"] == 1.5


def production_env() -> dict[str, str]:
    """Everything config.settings.production needs, and nothing from this environment."""
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "encore.example",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/encore",
        "TOKEN_ENCRYPTION_KEYS": "bs4WTgTeAcaY_wLr3A9Z8w1aQnfkcmt5soXlbKi11z0=",
    }


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "TOKEN_ENCRYPTION_KEYS"]
)
def test_production_settings_refuse_to_start_without_a_secret(missing):
    env = production_env()
    del env[missing]
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_settings_start_with_everything_set():
    env = production_env()
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ok')"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.django_db
def test_ensure_admin_creates_one_superuser_once(capsys, django_user_model):
    call_command("ensure_admin")
    out = capsys.readouterr().out
    assert "Created superuser 'admin' with password: " in out
    password = out.split("password: ")[1].split()[0]
    assert django_user_model.objects.get(username="admin").check_password(password)
    call_command("ensure_admin")
    assert "exists already" in capsys.readouterr().out
    assert django_user_model.objects.filter(is_superuser=True).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["song", "artist", "album"])
def test_catalog_admin_pages_render_for_staff(client, staff_user, demo_catalog, model):
    from catalog.models import Song

    client.force_login(staff_user)
    listing = client.get(f"/admin/catalog/{model}/", {"q": "queen"})
    assert listing.status_code == 200
    if model == "song":
        assert "Bohemian Rhapsody" in listing.content.decode()
        song = Song.objects.get(title="Bohemian Rhapsody")
        assert client.get(f"/admin/catalog/song/{song.id}/change/").status_code == 200
        filtered = client.get("/admin/catalog/song/", {"has_spotify_id": "no"})
        assert filtered.status_code == 200


@pytest.mark.django_db
def test_catalog_admin_is_refused_to_non_staff(client, user):
    client.force_login(user)
    response = client.get("/admin/catalog/song/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_songs_added_in_the_admin_with_the_same_title_get_their_own_keys(client, staff_user):
    from catalog.models import Song
    from tests.catalog.factories import ArtistFactory

    client.force_login(staff_user)
    for name in ["Band One", "Band Two"]:
        artist = ArtistFactory(name=name)
        response = client.post("/admin/catalog/song/add/", {
            "title": "Intro", "album": "", "duration_ms": "", "isrc": "", "release_date": "",
            "release_date_precision": "", "release_year": "", "explicit": "unknown",
            "spotify_id": "", "spotify_uri": "", "album_image_url": "", "popularity": "",
            "preview_url": "", "audio_features": "null", "match_status": "unmatched",
            "match_confidence": "",
            "song_artists-TOTAL_FORMS": "1", "song_artists-INITIAL_FORMS": "0",
            "song_artists-0-artist": str(artist.pk), "song_artists-0-position": "0",
        })  # fmt: skip
        assert response.status_code == 302, response.content.decode()[:2000]
    keys = set(Song.objects.values_list("identity_key", flat=True))
    assert keys == {"meta:intro|band one|", "meta:intro|band two|"}


@pytest.mark.django_db
def test_admin_pages_carry_encore_branding_and_links(client, staff_user):
    client.force_login(staff_user)
    page = client.get("/admin/").content.decode()
    assert "Encore operations" in page
    assert 'href="/api/docs/"' in page and 'href="/healthz"' in page


@pytest.mark.django_db
def test_healthz_answers_503_within_its_timeout_when_the_database_hangs(client, settings):
    """A hung PostgreSQL (SIGSTOP) blocks the check's thread: stand-in, a check that sleeps."""
    import time

    from core import views

    settings.HEALTHZ_TIMEOUT = 0.3
    stuck = views._db_checker.submit(time.sleep, 2)
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    stuck.result()
    assert response.status_code == 503 and elapsed < 1.5
    assert response.json()["checks"]["database"] == {"ok": False, "error": "Timeout"}
    assert client.get("/healthz").status_code == 200  # the thread is free again


def test_postgres_gets_connect_and_statement_timeouts():
    from config.settings.base import postgres_timeouts

    database = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"options": "-c x=1"}}
    postgres_timeouts(database)
    assert database["OPTIONS"]["connect_timeout"] == 3
    assert database["OPTIONS"]["options"] == "-c x=1 -c statement_timeout=60000"


@pytest.mark.django_db
def test_the_statement_timeout_reaches_the_server():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "1min"


def test_worker_logs_are_json_lines_like_the_web():
    """What `celery -A config worker` sets up (its setup_logging signal), in a subprocess."""
    code = (
        "from config.celery import app; app.log.setup(loglevel='INFO'); import logging; "
        "logging.getLogger('celery.worker').warning('ready access_token=abcdefghij')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LOG_FORMAT": "json"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    argv = [sys.executable, "-c", code]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # noqa: S603
    assert result.returncode == 0, result.stderr
    import json

    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["logger"] == "celery.worker" and line["level"] == "WARNING"
    assert "abcdefghij" not in line["message"]  # the web's redaction applies too
