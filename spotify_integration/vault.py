"""The token vault: Fernet encryption of Spotify tokens at rest, with key rotation.

Keys come from ``TOKEN_ENCRYPTION_KEYS`` (comma-separated Fernet keys). The first key
encrypts; every key decrypts (``MultiFernet``), so a new key is put first, ``manage.py
rotate_token_keys`` re-encrypts every stored token under it, and only then is the old key
removed. ``production.py`` requires the setting. The embedded default (no keys set) derives
one key from ``SECRET_KEY`` and logs a warning: changing ``SECRET_KEY`` then makes stored
tokens unreadable, which only costs the users a reconnect.
"""

from __future__ import annotations

import base64
import logging
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from spotify_integration.exceptions import TokenUndecryptable

logger = logging.getLogger(__name__)

_warned_lock = threading.Lock()
_warned = False


def _derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from SECRET_KEY, for the embedded default only."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"encore-token-vault-v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def _warn_derived_key_once() -> None:
    global _warned
    with _warned_lock:
        if _warned:
            return
        _warned = True
    logger.warning(
        "TOKEN_ENCRYPTION_KEYS is not set: Spotify tokens are encrypted with a key derived "
        "from SECRET_KEY. Set TOKEN_ENCRYPTION_KEYS outside the embedded default."
    )


def derived_key_warning_reset() -> None:
    """Warn again on the next use of the derived key (tests; the warning is once a process)."""
    global _warned
    with _warned_lock:
        _warned = False


def vault_keys() -> list[bytes]:
    """The configured keys, first = the one that encrypts. Never logged or shown."""
    configured = [k.strip() for k in settings.TOKEN_ENCRYPTION_KEYS if k and k.strip()]
    if not configured:
        _warn_derived_key_once()
        return [_derived_key(settings.SECRET_KEY)]
    return [k.encode() for k in configured]


def _multi_fernet() -> MultiFernet:
    # Built per call (it is cheap) so a settings change, e.g. a key rotation in tests or a
    # reload, is seen at once instead of through a stale cached object.
    fernets = []
    for position, key in enumerate(vault_keys(), start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # Name the position, never the key itself.
            raise ImproperlyConfigured(
                f"TOKEN_ENCRYPTION_KEYS entry {position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes; make one with Fernet.generate_key())."
            ) from None
    return MultiFernet(fernets)


@sensitive_variables("plaintext")
def token_encrypt(*, plaintext: str) -> str:
    """Encrypt ``plaintext`` under the first key; returns ASCII ciphertext."""
    return _multi_fernet().encrypt(plaintext.encode()).decode("ascii")


def token_decrypt(*, ciphertext: str) -> str:
    """Decrypt with any configured key. Raises TokenUndecryptable when none fits."""
    try:
        return _multi_fernet().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise TokenUndecryptable() from None


def token_reencrypt(*, ciphertext: str) -> str:
    """The same plaintext encrypted under the first key (MultiFernet.rotate).

    Raises TokenUndecryptable when no configured key opens ``ciphertext``.
    """
    try:
        return _multi_fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise TokenUndecryptable() from None


def token_is_under_primary_key(*, ciphertext: str) -> bool:
    """True when the first key alone opens ``ciphertext`` (nothing to rotate)."""
    try:
        Fernet(vault_keys()[0]).decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True
