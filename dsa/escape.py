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


def md_code(value: Any) -> str:
    """A value as an inline code span, on one line, shown exactly as it is: backslash escapes
    are not read inside code, so the span is fenced with more backticks than the value holds."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
