"""System checks (``manage.py check``, and before runserver/migrate): settings that would only
fail later, at the first token written or the first request through a proxy."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from config.settings.safety import token_key_problems


@register()
def token_keys_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    return [
        Error(problem, id="encore.E001")
        for problem in token_key_problems(settings.TOKEN_ENCRYPTION_KEYS)
    ]


@register()
def trusted_proxies_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    for entry in getattr(settings, "TRUSTED_PROXIES", []):
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            message = f"TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            errors.append(Error(message, id="encore.E002"))
    return errors
