"""The deploy path fails closed (issue 14): production settings by default for the deploy
processes, and production refuses public secrets, malformed keys and plain-http Spotify URLs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test import RequestFactory, override_settings
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from core.middleware import TrustedProxyMiddleware
from tests.core.test_core import ROOT, production_env

DEV_TOKEN_KEY = "p4eb6r7pEQWm0nIXnCxtrJ6S0CMbQ6jpJHlDOjKNk0Y="


def _run(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, *args] if args else [sys.executable, "-c", code]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)  # noqa: S603


def _setup(env: dict[str, str], extra: str = "") -> subprocess.CompletedProcess[str]:
    return _run(f"import django; django.setup(); {extra}", env)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SECRET_KEY", "embedded-default-insecure-key-change-me-in-production", "SECRET_KEY"),
        ("SECRET_KEY", "test-secret-key-not-for-production", "SECRET_KEY"),
        ("TOKEN_ENCRYPTION_KEYS", DEV_TOKEN_KEY, "TOKEN_ENCRYPTION_KEYS entry 1"),
        ("TOKEN_ENCRYPTION_KEYS", "not-a-key", "TOKEN_ENCRYPTION_KEYS entry 1 is not a valid"),
        ("SPOTIFY_API_URL", "http://api.spotify.com/v1/", "SPOTIFY_API_URL must be an https"),
        ("SPOTIFY_ACCOUNTS_URL", "http://accounts.example/", "SPOTIFY_ACCOUNTS_URL"),
        ("SPOTIFY_REDIRECT_URI", "http://encore.example/cb/", "SPOTIFY_REDIRECT_URI"),
    ],
)
def test_production_refuses_public_secrets_bad_keys_and_plain_http(name, value, says):
    result = _setup({**production_env(), name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and says in result.stderr
    assert value not in result.stderr or name.startswith("SPOTIFY")  # never echo a key


def test_production_allows_a_loopback_redirect_and_serves_json_only_docs_for_staff():
    env = {**production_env(), "SPOTIFY_REDIRECT_URI": "http://127.0.0.1:8000/api/spotify/cb/"}
    show = (
        "from django.conf import settings as s; "
        "print(s.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES'], s.SPECTACULAR_SETTINGS"
        ".get('SERVE_PERMISSIONS'), s.DEBUG)"
    )
    result = _setup(env, show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "['rest_framework.renderers.JSONRenderer'] ['rest_framework.permissions.IsAdminUser'] False"
    )
    opened = _setup({**env, "API_DOCS_PUBLIC": "true"}, show)
    assert "IsAdminUser" not in opened.stdout and opened.returncode == 0, opened.stderr


def _bare_env(**extra: str) -> dict[str, str]:
    """No DJANGO_SETTINGS_MODULE and no secrets: what a forgotten variable looks like."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {**keep, **extra}


@pytest.mark.parametrize("module", ["config.wsgi", "config.celery"])
def test_deploy_entry_points_default_to_production_settings(module):
    result = _run(f"import {module}; import django; django.setup()", _bare_env())
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "config.settings.base" in result.stderr


def test_procfile_processes_run_with_production_settings():
    lines = (ROOT / "Procfile").read_text().splitlines()
    assert lines and all("config.settings.production" in line for line in lines)
    web = next(line for line in lines if line.startswith("web:"))
    assert "--config config/gunicorn.py" in web


def test_manage_py_uses_production_settings_against_a_server_database():
    env = _bare_env(DATABASE_URL="postgres://postgres@127.0.0.1:5432/encore_h5")
    result = _run("", env, "manage.py", "check")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_manage_py_keeps_the_embedded_default_for_a_newcomer(tmp_path):
    env = _bare_env(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    result = _run("", env, "manage.py", "check")
    assert result.returncode == 0, result.stderr


def test_development_settings_refuse_the_public_key_without_debug():
    result = _setup(_bare_env(DJANGO_SETTINGS_MODULE="config.settings.base", DEBUG="false"))
    assert result.returncode != 0
    assert "DEBUG is off but SECRET_KEY is the embedded development default" in result.stderr


@override_settings(TOKEN_ENCRYPTION_KEYS=["short", DEV_TOKEN_KEY])
def test_a_malformed_first_token_key_is_a_system_check_error():
    with pytest.raises(SystemCheckError, match="TOKEN_ENCRYPTION_KEYS entry 1 is not a valid"):
        call_command("check")


@pytest.mark.django_db
@override_settings(TOKEN_ENCRYPTION_KEYS=["short", DEV_TOKEN_KEY])
def test_rotate_token_keys_reports_a_malformed_first_key():
    with pytest.raises(CommandError, match="entry 1 is not a valid Fernet key"):
        call_command("rotate_token_keys", skip_checks=True)


def _through_proxy_middleware(remote_addr: str) -> Request:
    factory = RequestFactory()
    django_request = factory.get(
        "/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR="6.6.6.6", HTTP_X_FORWARDED_PROTO="https"
    )
    seen = {}

    def view(request):
        seen["request"] = request
        return None

    TrustedProxyMiddleware(view)(django_request)
    return Request(seen["request"])


def test_forwarded_headers_from_an_untrusted_peer_are_dropped():
    request = _through_proxy_middleware("203.0.113.9")
    assert "HTTP_X_FORWARDED_PROTO" not in request.META
    # The callback throttle keys on the peer, not on what the client wrote.
    assert ScopedRateThrottle().get_ident(request) == "203.0.113.9"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_forwarded_headers_from_a_trusted_proxy_are_kept():
    request = _through_proxy_middleware("10.1.2.3")
    assert request.META["HTTP_X_FORWARDED_PROTO"] == "https"
    assert request.META["HTTP_X_FORWARDED_FOR"] == "6.6.6.6"


@pytest.mark.parametrize(
    ("given", "echoed"),
    [("abc-123_x.y:z", True), ("a" * 129, False), ("bad id", False), ("<script>", False)],
)
def test_x_request_id_is_echoed_only_when_well_formed(client, db, given, echoed):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    assert (response["X-Request-ID"] == given) is echoed
    assert len(response["X-Request-ID"]) <= 128


def test_gunicorn_request_line_fits_the_longest_query_the_api_accepts():
    """gunicorn answers an over-long request line with its own plain 414; every query the API
    accepts must fit under config/gunicorn.py's limit."""
    from urllib.parse import urlencode

    from catalog.serializers import MAX_QUERY

    widest = "\U0001f3b5" * MAX_QUERY  # 4 UTF-8 bytes, 12 once percent-encoded
    query = urlencode(
        {
            "q": widest,
            "artist": widest,
            "album": widest,
            "year_min": 1000,
            "year_max": 2100,
            "explicit": "false",
            "has_spotify_id": "false",
            "spotify": "always",
            "limit": 100,
            "offset": 500,
        }
    )
    line = f"GET /api/songs/search/?{query} HTTP/1.1"
    config: dict = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), config)  # noqa: S102
    assert len(line) <= config["limit_request_line"] <= 8190
