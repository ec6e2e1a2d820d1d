"""Sampling: what the user asked for (`--sample`, `quality.sample`), how much of a table that
means once its rows are counted, and the sqlglot shapes engines draw samples with.

Without a setting, a table is profiled whole below a million rows and sampled to a million rows
above. Each engine says how it samples (`Connector.sample_source`, from its declared
`SAMPLE_METHODS`); the shapes here are shared by them: the whole relation, a TABLESAMPLE, and a
per-row filter. Every shape is aliased `src`, the name the profile statements read.
"""

from __future__ import annotations

from sqlglot import exp

from dsa.options import AUTO_SAMPLE_ROWS, Sample, parse_sample
from dsa.profile import SRC

__all__ = ["AUTO_SAMPLE_ROWS", "SEED", "Sample", "parse_sample", "whole", "tablesample", "filtered"]

SEED = 42


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
