"""The web process's gunicorn configuration, as gunicorn itself reads it (bench/load.py)."""

from __future__ import annotations

from pathlib import Path

from gunicorn.config import Config

ROOT = Path(__file__).resolve().parent.parent.parent


def _config(**environ: str) -> Config:
    import os
    import runpy
    from unittest import mock

    with mock.patch.dict(os.environ, environ):
        values = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    config = Config()
    for key, value in values.items():
        if key in config.settings:
            config.set(key, value)
    return config


def test_web_workers_serve_with_threads_and_no_second_access_log():
    config = _config()
    assert config.worker_class_str == "gthread" and config.threads == 2
    assert config.accesslog is None
    assert "--access-logfile" not in (ROOT / "Procfile").read_text()


def test_threads_come_from_web_threads():
    assert _config(WEB_THREADS="8").threads == 8
