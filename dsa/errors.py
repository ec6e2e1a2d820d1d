"""Errors a person can act on, and the scrubbing that keeps secrets out of them.

A `DsaError` is printed as one line without a traceback; its `exit_code` is what the command
line returns. Anything that may carry text from a driver goes through `scrub` first.
"""

from __future__ import annotations

import re

# Secrets registered at run time (passwords read from config, the vault or the environment).
_SECRETS: set[str] = set()


class DsaError(Exception):
    """An error a user caused or can fix. `str()` is the one-line message."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(scrub(one_line(message)))


class ConfigError(DsaError):
    """A config file, option or argument is wrong."""

    exit_code = 2


class SourceError(DsaError):
    """A source cannot be reached, logged into or read."""


class NotFound(DsaError):
    """A source, run or object named by the user does not exist."""

    exit_code = 2


def register_secret(value: str | None) -> None:
    """Remember a secret so that `scrub` removes it from any text it later sees."""
    if value and len(value) >= 3:
        _SECRETS.add(value)


_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@")
_KV_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*('[^']*'|\"[^\"]*\"|\S+)")


def scrub(text: str) -> str:
    """Remove passwords from URLs, `password=` pairs and every registered secret."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _KV_PASSWORD.sub(lambda m: f"{m.group(1)}=***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def one_line(text: str) -> str:
    """Fold a driver's multi-line message into one line."""
    return " ".join(str(text).split())
