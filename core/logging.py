"""Structured logging: one JSON object per line, and a filter that keeps secrets out of logs."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else was passed through `extra=` and is emitted.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Bearer tokens, OAuth parameters and Fernet tokens, wherever they appear in a message.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|code_verifier|authorization)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]{6,}"
    ),
    re.compile(r"(?i)(\bcode=)[^\s&]{6,}"),
    re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Defence in depth: code must not log secrets, and this catches the ones that slip."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, default=str)
