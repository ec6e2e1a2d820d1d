"""Qualified names: `connection.schema.table.column`, unambiguous for any name.

A part made only of ASCII letters, digits and underscores (not starting with a digit) stands
bare; any other part is wrapped in double quotes with inner quotes doubled, as in SQL. So
`shop."odd.name"` splits back into exactly the parts it was made from.
"""

from __future__ import annotations

import re
from functools import lru_cache

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@lru_cache(maxsize=65536)  # the same schema and table names recur for every column of a scan
def quote_part(part: str) -> str:
    part = str(part)
    if _BARE.match(part):
        return part
    return '"' + part.replace('"', '""') + '"'


def qualified_name(*parts: str) -> str:
    return ".".join(quote_part(p) for p in parts)


def split_name(name: str) -> list[str]:
    """Inverse of `qualified_name`."""
    parts: list[str] = []
    i, n = 0, len(name)
    while i <= n:
        if i < n and name[i] == '"':
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ValueError(f"unterminated quote in qualified name {name!r}")
                if name[j] == '"':
                    if j + 1 < n and name[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(name[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        else:
            j = name.find(".", i)
            j = n if j < 0 else j
            parts.append(name[i:j])
            i = j
        if i < n and name[i] != ".":
            raise ValueError(f"malformed qualified name {name!r}")
        i += 1
    return parts
