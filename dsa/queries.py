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



def view_files() -> list[str]:
    """Files of CREATE VIEW statements run on every catalog connection: `views.sql` first,
    then every `views_*.sql` (one per feature: quality, diff, ...) in name order."""
    extra = sorted(p.stem for p in ROOT.glob("views_*.sql"))
    return ["views", *extra]


@lru_cache(maxsize=None)
def text(name: str) -> str:
    """The text of `queries/<name>.sql` (name may contain a folder, e.g. `postgres/columns`)."""
    path = ROOT / f"{name}.sql"
    return path.read_text(encoding="utf-8")


def exists(name: str) -> bool:
    return (ROOT / f"{name}.sql").exists()
