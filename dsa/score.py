"""Quality scores: 0-100 per column, table and connection, from named components.

A column's score is the mean of the components that apply to it (docs/quality.md):

- completeness  = 100 x non-null / rows                          (every column with rows)
- uniqueness    = 100 x distinct / non-null                      (when uniqueness is expected)
- validity      = 100 x valid / non-null, minus 10 for numbers stored as text
                  (text that is mostly numbers, dates, floats)
- referential   = 100 x (non-null - orphans) / non-null          (foreign-key columns)

A table's score is the mean of its columns' scores; a connection's the mean of its tables'.
Every score comes with its components and a sentence per component that lost points.
"""

from __future__ import annotations

import re
from typing import Any

NUMERIC_TEXT_SHARE = 0.8  # a text column whose values are at least this share numbers holds numbers
TEXT_NUMBERS_PENALTY = 10.0
NEARLY_UNIQUE = 0.9  # *_id columns that are this distinct are meant to be unique
# What the app shows next to every quality score (docs/quality.md, "Quality score").
SCORE_DEFINITION = (
    "**Quality score** (0-100): the mean of the table scores. A table's score is the mean of its "
    "columns' scores; a column's, the mean of the components that apply to it: completeness "
    "(100 x non-null / rows), uniqueness (100 x distinct / non-null, where values should be unique), "
    "validity (100 x valid / non-null) and referential integrity (100 x (non-null - orphans) / non-null). "
    "Details: docs/quality.md, section Quality score."
)
_ID_NAME = re.compile(r"(^id$|_id$|_uuid$|^uuid$|_key$)", re.IGNORECASE)


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 100.0


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def unique_expected(col: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether duplicates in this column are errors, and why we think so."""
    if col.get("is_primary_key_single"):
        return True, "primary key"
    if col.get("is_unique"):
        return True, "unique constraint"
    name = col.get("column_name") or ""
    non_null = col.get("non_null") or 0
    if _ID_NAME.search(name) and not col.get("foreign_key") and non_null:
        if (col.get("distinct_count") or 0) >= NEARLY_UNIQUE * non_null:
            return True, f"identifier-like name '{name}', {_fmt(_pct(col['distinct_count'], non_null))}% distinct"
    return False, None


def column_score(col: dict[str, Any]) -> dict[str, Any]:
    """Components, score and explanation of one column's metrics (keys as in column_quality_metrics)."""
    rows = col.get("total_count") or 0
    nulls = col.get("null_count") or 0
    non_null = rows - nulls
    comps: dict[str, dict[str, Any]] = {}
    if rows:
        s = _pct(non_null, rows)
        comps["completeness"] = {"score": s, "reason": f"{nulls} of {rows} values are NULL ({_fmt(100 - s)}%)" if nulls else None}
    expected, why = unique_expected({**col, "non_null": non_null})
    if expected and non_null and col.get("distinct_count") is not None:
        dup = non_null - col["distinct_count"]
        s = _pct(col["distinct_count"], non_null)
        comps["uniqueness"] = {"score": s, "reason": f"{dup} duplicate values where unique values are expected ({why})" if dup else None}
    family = col.get("type_family")
    if non_null:
        invalid, reasons, penalty = 0, [], 0.0
        if family == "string" and col.get("numeric_text_count") is not None:
            numeric = col.get("numeric_text_count") or 0
            if numeric >= NUMERIC_TEXT_SHARE * non_null:
                bad = non_null - numeric
                invalid += bad
                penalty = TEXT_NUMBERS_PENALTY
                reasons.append(f"numbers stored as text (-{_fmt(penalty)})")
                if bad:
                    reasons.append(f"{bad} values of this numbers-as-text column are not numbers")
        if family in ("date", "timestamp"):
            future, bad = col.get("future_count") or 0, col.get("invalid_count") or 0
            invalid += future + bad
            if future:
                reasons.append(f"{future} dates in the future")
            if bad:
                reasons.append(f"{bad} impossible or unreadable dates (before 1900-01-01 or not a date)")
        if family == "float":
            bad = (col.get("nan_count") or 0) + (col.get("infinite_count") or 0)
            invalid += bad
            if bad:
                reasons.append(f"{bad} NaN or infinite values")
        if reasons or family in ("date", "timestamp", "float") or (family == "string" and penalty):
            s = max(0.0, _pct(non_null - invalid, non_null) - penalty)
            comps["validity"] = {"score": s, "reason": "; ".join(reasons) or None}
    if col.get("orphan_count") is not None and non_null:
        orphans = col["orphan_count"]
        s = _pct(non_null - orphans, non_null)
        comps["referential"] = {
            "score": s,
            "reason": f"{orphans} values have no matching row in {col.get('foreign_key')}" if orphans else None,
        }
    if not comps:
        return {"quality_score": None, "components": {}, "explanation": "no rows to score" if not rows else "nothing to score"}
    score = sum(c["score"] for c in comps.values()) / len(comps)
    lost = [f"{name} {_fmt(c['score'])}: {c['reason']}" for name, c in comps.items() if c["reason"] and c["score"] < 100]
    explanation = "; ".join(lost) if lost else "no problems found (" + ", ".join(comps) + " all 100)"
    for c in comps.values():
        c["score"] = round(c["score"], 4)
    return {"quality_score": round(score, 4), "components": comps, "explanation": explanation}


def mean_score(scores: list[float | None]) -> float | None:
    present = [s for s in scores if s is not None]
    return round(sum(present) / len(present), 4) if present else None


def table_explanation(columns: list[dict[str, Any]]) -> str:
    """The table's worst columns, in words."""
    scored = sorted((c for c in columns if c.get("quality_score") is not None and c["quality_score"] < 100),
                    key=lambda c: c["quality_score"])
    if not scored:
        return "no column lost points" if columns else "no columns"
    return "; ".join(f"{c['column_name']} {_fmt(c['quality_score'])} ({c['score_explanation']})" for c in scored[:3])
