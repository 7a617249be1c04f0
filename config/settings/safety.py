"""Start-up checks of settings that must fail closed (no Django app code: settings import it).

``production.py`` calls these while the settings load, so a web, worker or beat process with a
development secret, a malformed token key or a plain-http Spotify URL stops before it serves
anything; ``core.checks`` runs the token-key check for every settings module too.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# Every SECRET_KEY / token key that is written in this repository: public, so never in production.
DEVELOPMENT_SECRET_KEYS = frozenset(
    {
        "embedded-default-insecure-key-change-me-in-production",
        "test-secret-key-not-for-production",
    }
)
DEVELOPMENT_TOKEN_KEYS = frozenset({"p4eb6r7pEQWm0nIXnCxtrJ6S0CMbQ6jpJHlDOjKNk0Y="})


def token_key_problems(keys: Iterable[str]) -> list[str]:
    """What is wrong with the TOKEN_ENCRYPTION_KEYS entries, by position (never the key)."""
    problems = []
    for position, key in enumerate((k.strip() for k in keys if k and k.strip()), start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            problems.append(
                f"TOKEN_ENCRYPTION_KEYS entry {position} is not a valid Fernet key (32 url-safe "
                "base64-encoded bytes; make one with: python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())')."
            )
    return problems


def check_token_keys(keys: Iterable[str]) -> None:
    problems = token_key_problems(keys)
    if problems:
        raise ImproperlyConfigured(problems[0])


def check_not_development_secrets(secret_key: str, token_keys: Iterable[str]) -> None:
    if secret_key in DEVELOPMENT_SECRET_KEYS:
        raise ImproperlyConfigured(
            "SECRET_KEY is a development default written in the repository; set a long random "
            "SECRET_KEY (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    for position, key in enumerate((k.strip() for k in token_keys), start=1):
        if key in DEVELOPMENT_TOKEN_KEYS:
            raise ImproperlyConfigured(
                f"TOKEN_ENCRYPTION_KEYS entry {position} is a development key written in the "
                "repository: anyone could decrypt the stored tokens. Generate a new key."
            )


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_https(name: str, url: str, *, loopback_http: bool = False) -> None:
    """``url`` must be https (a loopback IP over http too when ``loopback_http``)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if loopback_http and parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    allowed = "https (or http on a loopback IP such as 127.0.0.1)" if loopback_http else "https"
    raise ImproperlyConfigured(f"{name} must be an {allowed} URL in production; it is {url!r}.")
