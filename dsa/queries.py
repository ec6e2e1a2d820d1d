"""SQL files shipped with dsa (`queries/` in the source tree, `dsa/queries/` in the wheel).

DuckDB SQL over the catalog lives in `queries/*.sql`; a connector's catalog SQL lives in
`queries/<connector>/*.sql`. People may read and change these files: they are the product's
reports, not strings buried in code.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent
ROOT = _HERE / "queries" if (_HERE / "queries").is_dir() else _HERE.parent / "queries"

# Files of CREATE VIEW statements run on every catalog connection, in order.
# Feature modules append theirs (e.g. "quality_views") when imported.
VIEW_FILES: list[str] = ["views"]


def register_views(name: str) -> None:
    if name not in VIEW_FILES:
        VIEW_FILES.append(name)


@lru_cache(maxsize=None)
def text(name: str) -> str:
    """The text of `queries/<name>.sql` (name may contain a folder, e.g. `postgres/columns`)."""
    path = ROOT / f"{name}.sql"
    return path.read_text(encoding="utf-8")


def exists(name: str) -> bool:
    return (ROOT / f"{name}.sql").exists()
