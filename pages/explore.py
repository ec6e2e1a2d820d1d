"""Explore: connection -> schema -> table -> column, and a search across the catalog."""

import json
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from dsa import charts, report, ui

ui.ensure_navigation()

st.title("Explore")

scans = ui.query(
    "SELECT connection, run_id, started_at, status FROM sync_runs WHERE run_type = 'scan' "
    "AND status IN ('success', 'partial') ORDER BY connection, started_at DESC, run_id DESC")
if scans.height == 0:
    ui.empty("No scan yet. " + ui.START_HINT)
    st.stop()

term = st.text_input("Search tables and columns by name", placeholder="e.g. email", icon=":material/search:",
                     key=ui.url_key("q", lambda raw: raw or ""))
ui.url_store("q", term or None)
if term:
    found = ui.report("app_search", term)
    if found.height == 0:
        st.caption("Nothing matches.")
    else:
        st.caption(f"{found.height} matches" + (" (the first 200)" if found.height == 200 else ""))
        # each match links to its own view (a new tab keeps this search open)
        links = []
        for r in found.iter_rows(named=True):
            place = {"conn": r["connection"], "schema": r["schema_name"], "table": r["table_name"],
                     "column": r["column_name"]}
            links.append("explore?" + urlencode({k: v for k, v in place.items() if v is not None}))
        st.dataframe(found.with_columns(pl.Series("open", links)), hide_index=True, width="stretch",
                     height=min(400, 38 + 35 * found.height),
                     column_config={"open": st.column_config.LinkColumn("open", display_text="open")})

left, mid, right, far = st.columns(4)
conn = ui.choose("Connection", scans["connection"].unique(maintain_order=True).to_list(), "conn", container=left)
conn_scans = scans.filter(pl.col("connection") == conn)
run_labels = {r["run_id"]: ui.run_label(r) for r in conn_scans.iter_rows(named=True)}
run = ui.choose("Scan run", list(run_labels), "run", format_func=lambda r: run_labels[r], container=far)
ui.partial_notice(run)

tables = ui.query(
    "SELECT schema_name, table_name, table_type, qualified_name FROM normalized_tables WHERE run_id = ? "
    "ORDER BY schema_name, table_name", run)
schemas = tables["schema_name"].unique(maintain_order=True).to_list()
schema = ui.choose("Schema", schemas, "schema", container=mid)
in_schema = tables.filter(pl.col("schema_name") == schema) if schema is not None else tables
table = ui.choose("Table", in_schema["table_name"].to_list(), "table", container=right)
if table is None:
    ui.empty("This scan has no tables.")
    st.stop()

info = ui.query("SELECT * FROM normalized_tables WHERE run_id = ? AND schema_name IS NOT DISTINCT FROM ? "
                "AND table_name = ?", run, schema, table).row(0, named=True)
columns = ui.query("SELECT * FROM normalized_columns WHERE run_id = ? AND table_qualified_name = ? "
                   "ORDER BY ordinal_position", run, info["qualified_name"])
custom = json.loads(info["custom_attributes"] or "{}")

# the newest quality run of this connection, if any, gives row counts and column profiles
quality_run = None
if ui.has("column_quality_metrics", "table_quality_metrics"):
    qruns = ui.report("app_quality_run", conn)
    quality_run = qruns["run_id"][0] if qruns.height else None
table_metrics = None
if quality_run:
    tm = ui.query("SELECT * FROM table_quality_metrics WHERE run_id = ? AND table_qualified_name = ?",
                  quality_run, info["qualified_name"])
    table_metrics = tm.row(0, named=True) if tm.height else None

st.subheader(f"{ui.md(info['schema_name'] or '')}.{ui.md(table)}" if info["schema_name"] else ui.md(table))
if info["comment"]:
    st.caption(ui.md(info["comment"]))
m = st.columns(5)
m[0].metric("Type", ui.md(info["table_type"]) if info["table_type"] else "-")
m[1].metric("Columns", columns.height)
rows = table_metrics["row_count"] if table_metrics else info["row_estimate"]
m[2].metric("Rows", f"{rows:,}" if rows is not None else "-",
            help="counted by the newest quality run" if table_metrics else "the engine's estimate")
size = info["size_bytes"] if info["size_bytes"] is not None else (table_metrics or {}).get("size_bytes")
m[3].metric("Size", f"{size / 1e6:,.2f} MB" if size is not None else "-")
score = table_metrics["quality_score"] if table_metrics else None
m[4].metric("Quality score", f"{score:.1f}" if score is not None else "-")

share_link, share_file = st.columns([4, 1], vertical_alignment="bottom")
with share_link:
    ui.copy_link("explore")
with share_file:
    ui.download_report(conn, run=run, tables=report.exact_glob(f"{schema}.{table}" if schema is not None else table))

column_names = ["(whole table)", *columns["column_name"].to_list()]
column = ui.choose("Column", column_names, "column")

if column == "(whole table)":
    tab_cols, tab_keys, tab_idx, tab_sql = st.tabs(["Columns", "Keys", "Indexes", "Definition"])
    with tab_cols:
        shown = columns.select(
            "ordinal_position", "column_name", "data_type", "is_nullable", "column_default", "is_primary_key",
            "is_unique", "foreign_key", "comment")
        st.dataframe(shown, hide_index=True, width="stretch")
    with tab_keys:
        pk = json.loads(info["primary_key"]) if info["primary_key"] else None
        st.markdown("**Primary key:** " + (", ".join(ui.md(c) for c in pk) if pk else "none"))
        fks = custom.get("foreign_keys") or []
        st.markdown(f"**Foreign keys** ({len(fks)})" if fks else "**Foreign keys:** none")
        for fk in fks:
            target = f"{fk.get('ref_schema') or ''}.{fk.get('ref_table')}".lstrip(".")
            text = f"({', '.join(fk.get('columns') or [])}) → {target} ({', '.join(fk.get('ref_columns') or [])})"
            st.page_link("pages/explore.py", label=ui.md(text), icon=":material/link:",
                         query_params={"conn": conn, "run": run, "schema": fk.get("ref_schema") or "",
                                       "table": fk.get("ref_table") or ""})
        refs = ui.query(
            "SELECT DISTINCT schema_name, table_name FROM normalized_columns WHERE run_id = ? "
            "AND starts_with(foreign_key, ? || '.') ORDER BY ALL", run, info["qualified_name"])
        if refs.height:
            st.markdown(f"**Referenced by** ({refs.height})")
            for r in refs.iter_rows(named=True):
                st.page_link("pages/explore.py", label=ui.md(f"{r['schema_name']}.{r['table_name']}"),
                             icon=":material/arrow_back:",
                             query_params={"conn": conn, "run": run, "schema": r["schema_name"] or "",
                                           "table": r["table_name"]})
        for kind in ("unique_constraints", "check_constraints"):
            items = custom.get(kind) or []
            if items:
                st.markdown(f"**{kind.replace('_', ' ').capitalize()}**")
                st.dataframe(pl.DataFrame([{k: json.dumps(v) if isinstance(v, (list, dict)) else v
                                            for k, v in i.items()} for i in items]),
                             hide_index=True, width="stretch")
    with tab_idx:
        indexes = custom.get("indexes") or []
        if indexes:
            st.dataframe(pl.DataFrame([{"name": i.get("name"), "columns": ", ".join(i.get("columns") or []),
                                        "unique": i.get("unique"), "primary": i.get("primary"),
                                        "method": i.get("method"), "predicate": i.get("predicate")}
                                       for i in indexes]), hide_index=True, width="stretch")
        else:
            st.caption("No indexes.")
    with tab_sql:
        sql = info["view_definition"] or custom.get("sql")
        if sql:
            st.code(sql, language="sql")
        else:
            st.caption("The source did not report a definition.")
else:
    col = columns.filter(pl.col("column_name") == column).row(0, named=True)
    st.markdown(f"#### {ui.md(column)}")
    a = st.columns(4)
    a[0].metric("Type", ui.md(col["data_type"]) if col["data_type"] else "-")
    a[1].metric("Nullable", "yes" if col["is_nullable"] else "no")
    a[2].metric("Key", "primary" if col["is_primary_key"] else ("unique" if col["is_unique"] else "-"))
    a[3].metric("Default", ui.md(col["column_default"]) if col["column_default"] is not None else "-")
    if col["foreign_key"]:
        st.markdown(f"References {ui.md(col['foreign_key'])}")
    if col["comment"]:
        st.caption(ui.md(col["comment"]))
    if not quality_run:
        ui.empty(f"No quality run yet: press Profile on the Runs page or run `dsa quality {conn}`.")
    else:
        prof = ui.query("SELECT * FROM column_quality_metrics WHERE run_id = ? AND table_qualified_name = ? "
                        "AND column_name = ?", quality_run, info["qualified_name"], column)
        if prof.height == 0:
            ui.empty("The newest quality run has no profile of this column.")
        else:
            p = prof.row(0, named=True)
            b = st.columns(5)
            b[0].metric("Null %", f"{p['null_percentage']:.1f}" if p["null_percentage"] is not None else "-")
            b[1].metric("Distinct", f"{p['distinct_count']:,}" if p["distinct_count"] is not None else "-")
            b[2].metric("Min", ui.md(p["min_value"]) if p["min_value"] is not None else "-")
            b[3].metric("Max", ui.md(p["max_value"]) if p["max_value"] is not None else "-")
            b[4].metric("Score", f"{p['quality_score']:.1f}" if p["quality_score"] is not None else "-")
            st.dataframe(prof.transpose(include_header=True, header_name="metric", column_names=["value"])
                         .with_columns(pl.col("value").cast(pl.Utf8)), hide_index=True, width="stretch")
            top = ui.query("SELECT rank, CASE WHEN masked THEN 'masked value #' || rank ELSE value END AS value, count FROM column_top_values WHERE run_id = ? AND "
                           "column_qualified_name = ? ORDER BY rank LIMIT 50", quality_run, col["qualified_name"])
            if top.height:
                st.markdown("**Top values**")
                st.altair_chart(charts.top_values(top), width="stretch")
