"""PostgreSQL restarted under load: gunicorn serving /healthz from a private cluster while it
restarts (pg_ctl restart -m fast).

What it proves: during the restart requests fail cleanly (a JSON 503, quickly), never hang or
crash the worker; once the server is back the same process answers 200 again, its persistent
connections (CONN_MAX_AGE, CONN_HEALTH_CHECKS) replaced.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.proof.services import (
    ThrowawayPostgres,
    ThrowawayRedis,
    free_port,
    start_gunicorn,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.loopback]


def _get(url: str) -> tuple[int, float, dict]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, time.monotonic() - started, json.loads(body)


@pytest.fixture
def postgres():
    server = ThrowawayPostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()


def test_requests_fail_cleanly_while_postgresql_restarts_and_recover(
    postgres, redis_server: ThrowawayRedis, tmp_path
):
    port = free_port()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=postgres.url,
        REDIS_URL=redis_server.url,
        DEBUG="false",
        SECRET_KEY="fault-test-" + "k" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        CONN_MAX_AGE="600",
    )
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(env=env, port=port, log=log)
    url = f"http://127.0.0.1:{port}/healthz"
    answers: list[tuple[int, float, dict]] = []
    done = threading.Event()
    try:
        wait_until(lambda: _get(url)[0] == 200 if _answers(url) else False, timeout=60)

        def load() -> None:
            while not done.is_set():
                answers.append(_get(url))

        clients = [threading.Thread(target=load) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(0.5)
        postgres.restart()
        wait_until(lambda: answers and answers[-1][0] == 200, timeout=20)
        time.sleep(0.5)
        done.set()
        for client in clients:
            client.join(timeout=15)

        statuses = {status for status, _, _ in answers}
        assert statuses <= {200, 503}, (statuses, log.read_text()[-2000:])
        assert all(body["checks"]["database"] for _, _, body in answers)
        assert max(seconds for _, seconds, _ in answers) < 5
        assert server.poll() is None  # the worker never died
        assert answers[-1][0] == 200
    finally:
        done.set()
        stop(server)


def _answers(url: str) -> bool:
    try:
        _get(url)
        return True
    except OSError:
        return False
