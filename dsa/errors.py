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
    """Remember a secret so that `scrub` removes it from any text it later sees, also in the
    spellings a driver may echo it in (URL-encoded, or escaped inside a repr)."""
    if not value or len(value) < 3:
        return
    from urllib.parse import quote, quote_plus

    for form in (value, quote(value, safe=""), quote(value), quote_plus(value), repr(value)[1:-1]):
        if len(form) >= 3:
            _SECRETS.add(form)


def secret_parts(text: str | None) -> list[str]:
    """The passwords inside a DSN: a URL's `user:password@` (raw and decoded) and `password=` pairs."""
    from urllib.parse import unquote

    if not text:
        return []
    found = []
    for m in _URL_PASSWORD.finditer(text):
        if m["pw"]:
            found += [m["pw"], unquote(m["pw"])]
    for m in _KV_PASSWORD.finditer(text):
        value = m.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found += [value, unquote(value)]
    return [f for f in dict.fromkeys(found) if f]


# The password of a URL runs to the last `@` before the host (a raw `@` may be inside it).
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^\s]*)@(?=[^@\s/]*(?:[/?\s]|$))")
_KV_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*('[^']*'|\"[^\"]*\"|\S+)")


def scrub(text: str) -> str:
    """Remove passwords from URLs, `password=` pairs and every registered secret."""
    # the patterns are slow over megabytes (a report): run each only where it can match
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    lowered = text.lower()
    if "passw" in lowered or "pwd" in lowered:
        text = _KV_PASSWORD.sub(lambda m: f"{m.group(1)}=***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def scrub_obj(value):
    """`scrub` every string inside a JSON-like value (before it is serialized: JSON escaping
    would hide a secret that holds a quote or a backslash)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_obj(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return scrub(str(value))


# Control characters (terminal escapes) and bidi overrides in a name must not act on the
# terminal or reorder what a person reads: they are shown escaped.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """Fold a driver's multi-line message into one line, escaping control characters."""
    text = " ".join(str(text).split())
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
