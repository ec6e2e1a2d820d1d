"""Sampling: what the user asked for (`--sample`, `quality.sample`), how much of a table that
means once its rows are counted, and the sqlglot shapes engines draw samples with.

Without a setting, a table is profiled whole below a million rows and sampled to a million rows
above. Each engine says how it samples (`Connector.sample_source`, from its declared
`SAMPLE_METHODS`); the shapes here are shared by them: the whole relation, a TABLESAMPLE, and a
per-row filter. Every shape is aliased `src`, the name the profile statements read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from dsa.errors import ConfigError
from dsa.profile import SRC

AUTO_SAMPLE_ROWS = 1_000_000  # without --sample: full scan below this many rows, a sample of this size above
SEED = 42


@dataclass(frozen=True)
class Sample:
    """What the user asked for: a percentage, a row count, or None (automatic)."""

    percent: float | None = None
    rows: int | None = None

    def describe(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        if self.rows is not None:
            return f"{self.rows} rows"
        return "auto"

    def may_sample(self, row_estimate: int | None) -> bool:
        """Whether the table may be sampled, so its exact row count is worth a statement of its
        own (for 100% the profile counts the rows)."""
        if self.percent is not None:
            return self.percent < 100
        return self.rows is not None or row_estimate is None or row_estimate >= AUTO_SAMPLE_ROWS // 2

    def percent_of(self, row_count: int | None) -> float | None:
        """The percentage of a table of `row_count` rows to profile; None for all of it."""
        if not row_count:
            return None
        if self.percent is not None:
            return self.percent if self.percent < 100 else None
        if self.rows is not None:
            return 100.0 * self.rows / row_count if self.rows < row_count else None
        return 100.0 * AUTO_SAMPLE_ROWS / row_count if row_count > AUTO_SAMPLE_ROWS else None

    def rows_wanted(self) -> int | None:
        """The number of rows asked for (automatic: a million), None for a percentage."""
        if self.rows is not None:
            return self.rows
        return AUTO_SAMPLE_ROWS if self.percent is None else None


def parse_sample(value: str | int | None, where: str = "--sample") -> Sample:
    if value is None or value == "":
        return Sample()
    text = str(value).strip().replace("_", "").replace(",", "")
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not 0 < pct <= 100:
                raise ValueError
            return Sample(percent=pct)
        rows = int(text)
        if rows <= 0:
            raise ValueError
        return Sample(rows=rows)
    except ValueError:
        raise ConfigError(f"{where}: give a percentage like 10% (0-100] or a positive row count (got {value!r})") from None


def whole(rel: exp.Expression) -> exp.Expression:
    """Every row of `rel`, aliased `src`."""
    return exp.alias_(rel.copy(), SRC, table=True)


def tablesample(rel: exp.Expression, method: str, percent: float, rows: int | None, seeded: bool) -> exp.Expression:
    """`SELECT * FROM rel TABLESAMPLE method (...) [REPEATABLE (seed)]` as `src`: `rows` rows for
    the reservoir method, `percent` percent otherwise."""
    seed = exp.Literal.number(SEED) if seeded else None
    if method == "reservoir":
        sample = exp.TableSample(method=exp.var("RESERVOIR"), size=exp.Literal.number(rows), seed=seed)
    else:
        sample = exp.TableSample(method=exp.var(method.upper()), percent=exp.Literal.number(round(percent, 6)), seed=seed)
    inner = exp.select("*").from_(rel.copy())
    inner.args["from_"].this.set("sample", sample)
    return inner.subquery(SRC)


def filtered(rel: exp.Expression, keep: exp.Expression) -> exp.Expression:
    """`SELECT * FROM rel WHERE keep` as `src`: a sample drawn by a per-row condition."""
    return exp.select("*").from_(rel.copy()).where(keep).subquery(SRC)
