"""The pre-commit hook and the pinned dev tools agree, so a commit is checked as CI checks it."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_pre_commit_hooks_use_the_pinned_ruff():
    pinned = re.search(r"^ruff==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert pinned, "requirements-dev.txt pins ruff"
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in hooks} >= {"ruff-check", "ruff-format"}
    for hook in hooks:
        assert hook["additional_dependencies"] == [f"ruff=={pinned.group(1)}"], hook["id"]


def test_the_test_session_says_what_it_runs_on(settings):
    from tests.services import describe_services

    settings.REDIS_URL = "redis://:secret@cache.internal:6380/15"
    line = describe_services()
    assert "Redis (cache.internal:6380/15)" in line and "secret" not in line
    settings.REDIS_URL = ""
    assert "local-memory cache, no Redis" in describe_services()
    assert "skipped" in describe_services()
