"""Shareable reports: one self-contained file of a scan run and the quality run that profiled it.

`build_report` gathers what a report shows (DuckDB SQL in `queries/report_*.sql`, the changes
through `dsa.diff.compare`, the same comparison `dsa diff` stores; the schema findings through
`dsa.lint.lint`, what `dsa lint --no-measure` finds); `render_html` writes one HTML
file that needs no network (styles, script, data and the vega/vega-lite/vega-embed bundle shipped
by `vl-convert-python` are inlined; the charts are `dsa.charts` specs, the app's own) and
`render_markdown` the same content as Markdown, charts left out. `report_bytes` is what the CLI
writes and the app downloads: the same arguments give the same bytes (no time stamp).

Every name and value is data: the HTML template escapes it, the inline script only ever sets
`textContent`, the embedded JSON cannot close its `<script>`. Masked columns carry neither
their minimum, maximum nor top values; nothing of a connection's settings is read.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import jinja2
import orjson
import platformdirs
import polars as pl
from sqlglot import exp

from dsa import charts, diff, lint, queries
from dsa.catalog import Catalog
from dsa.config import Config
from dsa.errors import ConfigError, NotFound, scrub
from dsa.escape import md
from dsa.store import Store
from dsa.system import write_atomic

FORMATS = ("html", "md")
# The fields of each table and column in the embedded JSON, in queries/report_tables.sql order.
TABLE_FIELDS = ["qualified_name", "schema_name", "table_name", "table_type", "comment", "rows", "rows_estimated",
                "size_bytes", "quality_score", "score_explanation", "profile_status", "primary_key", "foreign_keys",
                "indexes", "unique_constraints", "check_constraints", "definition", "columns"]
COLUMN_FIELDS = ["column_name", "data_type", "type_family", "is_nullable", "column_default", "is_primary_key",
                 "is_unique", "foreign_key", "comment", "total_count", "null_count", "null_percentage",
                 "distinct_count", "distinct_percentage", "min_value", "max_value", "mean", "quality_score",
                 "score_explanation", "masked", "top_values", "histogram_kind", "histogram"]
# Sections other features fill: shown when the catalog has the table (newest run of the source).
EXTRA_SECTIONS = [("checks", "Check results", "check_results"), ("anomalies", "Anomalies", "anomalies"),
                  ("lineage", "Lineage", "lineage_edges")]
PAGE = 50  # tables a page of the HTML report shows
MAX_ROWS = 5000  # changes, drift and extra rows listed in one file; the catalog holds them all
ATTENTION_SCORE = 80  # columns and tables under this score are listed under "needs attention"
_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)  # the only text that could end an inline script
_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("dsa", "templates"), autoescape=True,
                                keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


@dataclass
class Section:
    key: str
    title: str
    rows: pl.DataFrame | None  # None: this catalog has no such table
    note: str = ""


@dataclass
class ReportData:
    source: str
    scan: dict[str, Any]
    quality: dict[str, Any] | None
    tables_glob: str | None
    tables_json: str  # the JSON text of queries/report_tables.sql
    summary: dict[str, Any]
    trend: pl.DataFrame
    score_bins: pl.DataFrame
    attention: list[str]
    worst: pl.DataFrame
    errors: pl.DataFrame
    changes: diff.DiffResult | None
    changes_note: str
    extras: list[Section] = field(default_factory=list)
    findings: list[lint.Finding] = field(default_factory=list)


# -- gathering --------------------------------------------------------------------------------


def _runs(catalog: Catalog, source: str, run: str | None) -> tuple[dict[str, Any], str | None]:
    """The scan to report and its quality run. `run` may name a scan (its quality run: the newest
    that profiled it) or a quality run (that one, and the scan it profiled); default: the
    source's newest scan that finished `success` or `partial`."""
    if run:
        m = catalog.run(run)
        if m["connection"] != source:
            raise ConfigError(f"--run: run '{run}' belongs to connection '{m['connection']}', not '{source}'")
        if m["run_type"] == "quality":
            scanned = (m.get("details") or {}).get("scan_run_id")
            if not scanned:
                raise NotFound(f"--run: quality run '{run}' names no scan run")
            return catalog.run(scanned), m["run_id"]
        if m["run_type"] != "scan":
            raise ConfigError(f"--run: run '{run}' is a {m['run_type']} run, not a scan or quality run")
        if m["status"] not in ("success", "partial"):
            raise ConfigError(f"--run: scan run '{m['run_id']}' is {m['status']}: nothing to report")
    else:
        scans = [m for m in catalog.manifests() if m["connection"] == source and m["run_type"] == "scan"
                 and m["status"] in ("success", "partial")]
        if not scans:
            raise NotFound(f"report: no successful or partial scan of '{source}' in the catalog at {catalog.label}")
        m = scans[-1]
    return m, _quality_run(catalog, m)


def _quality_run(catalog: Catalog, scan: dict[str, Any]) -> str | None:
    """The quality run that profiled the scan (`details.scan_run_id`), else, as on the Changes
    page, the newest finished quality run of the connection between this scan and its next."""
    named = diff.quality_run_for(catalog, scan["run_id"])
    if named:
        return named
    runs = [m for m in catalog.manifests() if m["connection"] == scan["connection"]]
    end = min((m["started_at"] for m in runs if m["run_type"] == "scan" and m["started_at"] > scan["started_at"]),
              default=None)
    found = [m["run_id"] for m in runs if m["run_type"] == "quality" and m["status"] in ("success", "partial")
             and m["started_at"] >= scan["started_at"] and (end is None or m["started_at"] < end)]
    return found[-1] if found else None


def exact_glob(name: str) -> str:
    """A `--tables` glob that matches exactly this name (`*`, `?` and `[` taken literally)."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _wanted(con, scan_run: str, glob: str | None) -> list[str] | None:
    """The qualified names of the tables `--tables GLOB` keeps (as `dsa quality --tables`), or None."""
    if not glob:
        return None
    rows = con.sql("SELECT qualified_name, schema_name, table_name FROM normalized_tables WHERE run_id = ?",
                   params=[scan_run]).fetchall()
    return [qn for qn, schema, table in rows
            if any(fnmatchcase(n, glob) for n in (table, f"{schema}.{table}"))]


def _frame(con, name: str, *params: Any) -> pl.DataFrame:
    return con.sql(queries.text(name), params=list(params)).pl()


def _extras(con, source: str, names: set[str]) -> list[Section]:
    """Check results, anomalies, lineage edges: the source's newest run of each, where they exist."""
    out = []
    for key, title, table in EXTRA_SECTIONS:
        if table not in names:
            out.append(Section(key, title, None, f"This catalog has no {title.lower()}."))
            continue
        newest = exp.select("max(run_id)").from_(exp.to_identifier(table)).where(
            exp.column("connection").eq(exp.Literal.string(source)))
        query = exp.select("*").from_(exp.to_identifier(table)).where(
            exp.column("run_id").eq(exp.Subquery(this=newest))).limit(MAX_ROWS)
        rows = con.sql(query.sql(dialect="duckdb")).pl()
        rows = rows.drop([c for c in ("run_id", "connection", "tenant") if c in rows.columns])
        out.append(Section(key, title, rows, "" if rows.height else f"No {title.lower()} for {source}."))
    return out


# the catalog tables of the reported scan and quality run the report's own queries read
SCAN_TABLES = ("normalized_tables", "normalized_columns", "run_errors")
QUALITY_TABLES = ("table_quality_metrics", "column_quality_metrics", "column_top_values", "column_histograms",
                  "run_errors")


def build_report(catalog: Catalog, config: Config | None, source: str, run: str | None = None,
                 against: str | None = None, tables: str | None = None) -> ReportData:
    """Everything a report of `source` shows (see the module docstring)."""
    scan, quality_id = _runs(catalog, source, run)
    if not isinstance(catalog, Store):
        catalog.replicate()  # a Postgres catalog: its runs' files in the cache before the readers start
    quality = catalog.run(quality_id) if quality_id else None
    # the comparison and the whole-catalog reads (trend, checks, anomalies, lineage) each open the
    # catalog on their own DuckDB connection: they run meanwhile
    with ThreadPoolExecutor(max_workers=2) as pool:
        compared = pool.submit(diff.compare, catalog, config, source, from_run=against, to_run=scan["run_id"])
        history = pool.submit(_history, catalog, source, (quality or scan)["started_at"])
        data = _gather(catalog, config, source, scan, quality, tables)
        data.trend, data.extras = history.result()
        try:
            data.changes = compared.result()
        except (NotFound, ConfigError) as exc:
            data.changes_note = scrub(str(exc))
    data.attention = _attention(data)
    return data


def _run_tables(catalog: Catalog, scan_run: str, quality_run: str | None):
    """A DuckDB connection holding only the two runs' rows of the tables the report queries read
    (each run's own files, `Catalog.run_table`): no scan of every run's files for each query."""
    from dsa import duck
    from dsa.model import CATALOG_TABLES

    parts: dict[str, list[pl.DataFrame]] = {}
    for run_id, names in ((scan_run, SCAN_TABLES), (quality_run, QUALITY_TABLES)):
        for name in names:
            rows = catalog.run_table(run_id, name) if run_id else pl.DataFrame()
            missing = [pl.lit(None, dtype).alias(c) for c, dtype in CATALOG_TABLES[name].items() if c not in rows.columns]
            parts.setdefault(name, []).append(rows.with_columns(missing) if missing else rows)
    con = duck.connect()
    for name, frames in parts.items():
        con.register(name, pl.concat(frames, how="diagonal_relaxed"))
    con.register("sync_runs", catalog.sync_runs())  # no quality run: the lint's profile rules find none
    return con


def _gather(catalog: Catalog, config: Config | None, source: str, scan: dict[str, Any],
            quality: dict[str, Any] | None, tables: str | None) -> ReportData:
    quality_id = quality["run_id"] if quality else None
    con = _run_tables(catalog, scan["run_id"], quality_id)
    try:
        wanted = _wanted(con, scan["run_id"], tables)
        params = (scan["run_id"], quality_id, wanted)
        tables_json = con.sql(queries.text("report_tables"), params=list(params)).fetchall()[0][0]
        summary = _frame(con, "report_summary", *params).row(0, named=True)
        score_bins = _frame(con, "report_score_bins", quality_id, wanted)
        worst = _frame(con, "report_attention", quality_id, wanted, ATTENTION_SCORE)
        errors = _frame(con, "report_errors", scan["run_id"], quality_id)
        findings = _findings(con, catalog, config, source, scan["run_id"], quality_id, wanted)
    finally:
        con.close()
    return ReportData(source, scan, quality, tables, tables_json, summary, pl.DataFrame(), score_bins, [], worst,
                      errors, None, "", [], findings)


def _history(catalog: Catalog, source: str, until: str) -> tuple[pl.DataFrame, list[Section]]:
    """The source's score per quality run up to the reported one, and the extra sections."""
    con = catalog.connect()
    try:
        trend = _frame(con, "app_score_trend").filter(
            (pl.col("connection") == source)
            & (pl.col("started_at").dt.convert_time_zone("UTC") <= datetime.fromisoformat(until)))
        names = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        return trend, _extras(con, source, names)
    finally:
        con.close()


def _findings(con, catalog: Catalog, config: Config | None, source: str, scan_run: str, quality_id: str | None,
              wanted: list[str] | None) -> list[lint.Finding]:
    """`dsa lint`'s findings for the scan and its quality run, of the tables `--tables` keeps.
    Orphan rates of implied foreign keys are not measured: a report reads the catalog only."""
    found = lint.lint(catalog, config or Config(), source, scan_run, measure=False, quality_run=quality_id, con=con)
    if wanted is not None:
        kept = set(wanted)
        found = [f for f in found if lint.table_of(f) in kept]
    return found


def _attention(data: ReportData) -> list[str]:
    """One line per thing a reader should look at first."""
    out = []
    if data.scan["status"] != "success":
        out.append(f"The scan is {data.scan['status']}: {data.errors.height} objects could not be read (see below).")
    if data.quality is None:
        out.append(f"No quality run profiled this scan: run `dsa quality {data.source}`.")
    s = data.summary
    if s["low_tables"]:
        out.append(f"{s['low_tables']} tables score under {ATTENTION_SCORE}.")
    if s["low_columns"]:
        out.append(f"{s['low_columns']} columns score under {ATTENTION_SCORE}; the worst are listed below.")
    if s["unprofiled_tables"]:
        out.append(f"{s['unprofiled_tables']} tables were not profiled (failed or timed out).")
    if data.changes is not None and data.changes.change_count:
        out.append(f"Changes since scan {data.changes.from_run['run_id']}: {data.changes.summary_line()}.")
    if data.findings:
        out.append(f"{len(data.findings)} schema findings: {lint.summary(data.findings)} (see Schema insights).")
    for section in data.extras:
        if section.rows is not None and "outcome" in section.rows.columns:
            bad = section.rows.filter(pl.col("outcome").is_in(["fail", "error"])).height
            if bad:
                out.append(f"{bad} checks failed or could not run.")
        elif section.rows is not None and section.rows.height and section.key != "lineage":
            out.append(f"{section.rows.height} {section.title.lower()}.")
    return out


# -- rendering --------------------------------------------------------------------------------


def _spec(chart) -> dict[str, Any]:
    spec = chart.to_dict(validate=False)  # the app validates the same specs when it draws them
    spec.pop("$schema", None)
    return spec


def _template_spec(chart) -> dict[str, Any]:
    """A chart's spec with its data taken out: the inline script puts a column's rows in
    `datasets.values` (so 100,000 columns do not each carry a copy of the spec)."""
    spec = _spec(chart)
    spec.pop("datasets", None)
    spec["data"] = {"name": "values"}
    return spec


def _chart_specs(data: ReportData) -> dict[str, Any]:
    top = pl.DataFrame(schema={"value": pl.Utf8, "count": pl.Int64, "rank": pl.Int64})
    bins = {kind: pl.DataFrame({"kind": [kind]}, schema={"kind": pl.Utf8}).with_columns(
        lower=pl.lit(None, pl.Float64), upper=pl.lit(None, pl.Float64), period=pl.lit(None, pl.Utf8),
        count=pl.lit(None, pl.Int64)) for kind in ("numeric", "month", "year")}
    specs: dict[str, Any] = {"top_values": _template_spec(charts.top_values(top.clear())),
                             **{f"histogram_{k}": _template_spec(charts.histogram(b)) for k, b in bins.items()}}
    if data.trend.height > 1:
        specs["trend"] = _spec(charts.score_trend(data.trend))
    if data.score_bins.height:
        specs["scores"] = _spec(charts.score_distribution(data.score_bins))
    drift = data.changes.drift if data.changes is not None else pl.DataFrame()
    if drift.height:
        for name, chart in (("null_moves", charts.drift_null_moves(drift)),
                            ("row_changes", charts.drift_row_changes(drift))):
            if chart is not None:
                specs[name] = _spec(chart)
    return specs


def _changes_rows(result: diff.DiffResult | None) -> list[dict[str, Any]]:
    if result is None:
        return []
    rows = []
    for kind, frame in result.changes.items():
        for row in frame.iter_rows(named=True):
            rows.append({"entity": kind, "change": row["change_type"], "object": row["qualified_name"],
                         "previous": row["previous_name"] or "",
                         "detail": diff.describe_changes(json.loads(row["changes"] or "[]"))})
    return rows


def _drift_rows(result: diff.DiffResult | None) -> list[dict[str, Any]]:
    if result is None:
        return []
    return [{"object": r["qualified_name"], "metric": r["metric"], "from": diff.short_value(r["from_value"]),
             "to": diff.short_value(r["to_value"]),
             "measured": "" if r["measured"] is None else f"{r['measured']:.1f} {r['unit']}",
             "severity": "" if r["severity"] is None else f"{r['severity']:.1f}"}
            for r in result.drift.head(MAX_ROWS).iter_rows(named=True)]


def _context(data: ReportData) -> dict[str, Any]:
    changes = _changes_rows(data.changes)
    return {
        "d": data, "s": data.summary, "changes_rows": changes[:MAX_ROWS], "changes_total": len(changes),
        "drift_rows": _drift_rows(data.changes), "max_rows": MAX_ROWS,
        "summary_rows": data.changes.summary.drop("run_id", "connection").to_dicts() if data.changes else [],
        "change_types": [c for c in diff.CHANGE_TYPES if c != "unchanged"],
        "worst_rows": data.worst.to_dicts(), "error_rows": data.errors.to_dicts(),
        "trend_rows": data.trend.to_dicts(),
        "findings": data.findings[:MAX_ROWS], "findings_total": len(data.findings),
        "finding_counts": _finding_counts(data.findings),
    }


def _finding_counts(findings: list[lint.Finding]) -> list[dict[str, Any]]:
    """Findings per rule, in the rules' order, with why the rule matters."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return [{"rule": r.id, "findings": counts[r.id], "why": r.why} for r in lint.RULES if r.id in counts]


def findings_by_table(findings: list[lint.Finding]) -> dict[str, list[list[str]]]:
    """Each table's findings as [rule, object, message] (its columns', keys' and indexes' too)."""
    out: dict[str, list[list[str]]] = {}
    for f in findings:
        out.setdefault(lint.table_of(f), []).append([f.rule, f.qualified_name, f.message])
    return out


def _script_json(value: Any) -> str:
    """JSON that is safe inside `<script>`: no `<`, `>` or `&` (as \\u escapes, inside strings)."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# where the chart library goes: `report_bytes` scrubs the rendered file for secrets first (the
# library is a package's own text, megabytes the secret patterns need not read). No catalog text
# can spell it: every `<` of a value is escaped.
_VEGA_SLOT = "<script>/* dsa: vega bundle */</script>"


def render_html(data: ReportData, vega: str | None = None) -> str:
    """The HTML file; `vega`: what stands for the chart library's script (default: the library).
    The first page of tables comes with the page's script, every table at the end of the file:
    the page draws its first tables before the browser has read the rest."""
    tables = compact_tables(data.tables_json)
    payload = ('{"table_fields":' + _script_json(TABLE_FIELDS) + ',"column_fields":' + _script_json(COLUMN_FIELDS)
               + ',"specs":' + _script_json(_chart_specs(data))
               + ',"findings":' + _script_json(findings_by_table(data.findings))
               + ',"page":' + str(PAGE) + ',"total":' + str(len(tables))
               + ',"tables":' + _script_json(tables[:PAGE]) + "}")
    return _TEMPLATES.get_template("report.html.j2").render(
        **_context(data), payload=payload, tables_payload=_script_json(tables), vega=vega or _vega_script())


def compact_tables(tables_json: str) -> list[list[Any]]:
    """queries/report_tables.sql's tables, each column's trailing nulls left out (most columns
    have no histogram, comment or explanation: a tenth of a large report's size)."""
    try:
        tables = orjson.loads(tables_json)
    except orjson.JSONDecodeError:  # a NaN or an infinity among the metrics: JSON has no word for them
        tables = json.loads(tables_json)  # (orjson writes them back as null)
    for t in tables:
        for c in t[-1]:
            while c and c[-1] is None:
                c.pop()
    return tables


def _vega_script() -> str:
    return "<script>" + _SCRIPT_END.sub(r"<\\/\1", vega_bundle()) + "</script>"


def render_markdown(data: ReportData) -> str:
    tables = [dict(zip(TABLE_FIELDS, t)) for t in json.loads(data.tables_json)]
    by_table = findings_by_table(data.findings)
    for t in tables:
        t["columns"] = [dict(zip(COLUMN_FIELDS, c)) for c in t["columns"]]
        t["findings"] = by_table.get(t["qualified_name"], [])
    env = _TEMPLATES.overlay(autoescape=False)
    env.filters["md"] = md
    return env.get_template("report.md.j2").render(**_context(data), tables=tables)


def report_bytes(catalog: Catalog, config: Config | None, source: str, run: str | None = None,
                 against: str | None = None, fmt: str = "html", tables: str | None = None) -> bytes:
    """The report file's bytes: what `dsa report` writes and the app's Download report gives."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format: must be html or md (got {fmt!r})")
    data = build_report(catalog, config, source, run, against, tables)
    if fmt == "md":
        return scrub(render_markdown(data)).encode("utf-8")
    text = scrub(render_html(data, _VEGA_SLOT))
    if _VEGA_SLOT not in text:  # a registered secret spelled inside it: scrub the whole file
        return scrub(render_html(data)).encode("utf-8")
    return text.replace(_VEGA_SLOT, _vega_script(), 1).encode("utf-8")


def default_file_name(source: str, fmt: str = "html") -> str:
    """`report-<source>.html`, the source name reduced to characters safe in any file system."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", source).strip("._") or "source"
    return f"report-{safe}.{fmt}"


# -- the chart library ------------------------------------------------------------------------


def vega_bundle() -> str:
    """vega, vega-lite and vega-embed as one script, from the installed `vl-convert-python`.
    Bundling takes seconds, so the result is kept in the user's cache folder per version."""
    import vl_convert  # a large native module: loaded only when a report is written

    folder = Path(os.environ.get("DSA_CACHE") or platformdirs.user_cache_dir("dsa")) / "report"
    path = folder / f"vega-embed-{vl_convert.__version__}.js"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    text = vl_convert.javascript_bundle()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text.encode("utf-8"))
    except OSError:
        pass  # a read-only home: bundle again next time
    return text
