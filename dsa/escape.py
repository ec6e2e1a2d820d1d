"""Catalog values put into Markdown (app pages, Markdown reports): escaped so that no
formatting, link, table cell break or HTML can come through."""

from __future__ import annotations

import re
from typing import Any

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(value: Any) -> str:
    """Escape a catalog value for Markdown, on one line."""
    text = "NULL" if value is None else str(value)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("\r", " ").replace("\n", " ")
