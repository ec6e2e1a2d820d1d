"""Explore: connection -> schema -> table -> column; the tables of a scan as a sortable list."""

import json

import polars as pl
import streamlit as st

from dsa import lineage_chart, report, reports, ui

ui.ensure_navigation()

st.title("Explore")
LISTED = 12  # up to this many rows a list is plain text; more: a scrollable grid
LISTED_COLUMNS = 40  # a table's columns, up to this many: a plain table (it draws with the page's text)

scans = ui.report(reports.scan_runs)
if scans.height == 0:
    ui.start_here("Nothing scanned yet: a scan lists a source's schemas, tables and columns.")

left, mid, right, far = st.columns(4)
conn = ui.choose("Connection", scans["connection"].unique(maintain_order=True).to_list(), "conn", container=left)
conn_scans = scans.filter(pl.col("connection") == conn)
run_labels = {r["run_id"]: ui.run_label(r) for r in conn_scans.iter_rows(named=True)}
run = ui.choose("Scan run", list(run_labels), "run", format_func=lambda r: run_labels[r], container=far)
ui.partial_notice(run)
# the newest quality run of this connection, if any, gives row counts, scores and column profiles
qruns = ui.report(reports.quality_runs, conn)
quality_run = qruns["run_id"][0] if qruns.height else None

tables = ui.frame(reports.tables, run, quality_run)
if tables.height == 0:
    ui.empty("This scan found no tables: check the connection's include and exclude patterns.")
    st.stop()
# opened without a table: the most interesting one (worst score, else the largest)
first = tables.sort(["quality_score", "row_count"], descending=[False, True], nulls_last=True).row(0, named=True)
schemas = tables["schema_name"].unique(maintain_order=True).to_list()
schema = ui.choose("Schema", schemas, "schema", default=first["schema_name"], container=mid)
in_schema = tables.filter(pl.col("schema_name").eq_missing(schema))
table = ui.choose("Table", in_schema["table_name"].to_list(), "table", default=first["table_name"], container=right)

# the list is drawn only while the expander is open (a schema can hold thousands of tables)
tables_list = st.expander(f"Tables of {ui.md(schema or conn)} ({in_schema.height:,})", icon=":material/table_rows:",
                          key="tables_list", on_change="rerun")
if tables_list.open:
    with tables_list:
        listed = in_schema.select("table_name", "table_type", "row_count", "column_count", "quality_score", "changed_at")
        ui.table(listed, height=min(400, 38 + 35 * listed.height), column_config={
            "table_name": st.column_config.TextColumn("table"),
            "table_type": st.column_config.TextColumn("type", width="small"),
            "row_count": st.column_config.NumberColumn("rows", format="localized",
                                                       help="counted by the newest quality run, else the engine's estimate"),
            "column_count": st.column_config.NumberColumn("columns", format="localized", width="small"),
            "quality_score": st.column_config.ProgressColumn("score", min_value=0, max_value=100, format="%.1f"),
            "changed_at": st.column_config.DatetimeColumn("last change (UTC)", format="YYYY-MM-DD HH:mm",
                                                          help="the newest scan whose stored diff changed the table"),
        })
        ui.download(listed, "tables")

# the scan's (and quality run's) tables and columns are read once per run, then picked from
info = reports.table(ui.frame(reports.scan_tables, run), schema, table).row(0, named=True)
scan_columns = ui.frame(reports.scan_columns, run)
columns = reports.table_columns(scan_columns, info["qualified_name"])
custom = json.loads(info["custom_attributes"] or "{}")
metrics_ = (reports.table_metrics(ui.frame(reports.quality_tables, quality_run), info["qualified_name"])
            if quality_run else pl.DataFrame())
table_metrics = metrics_.row(0, named=True) if metrics_.height else None

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
ui.score_metric(m[4], table_metrics["quality_score"] if table_metrics else None, label="Table score")

share_link, share_file = st.columns([4, 1], vertical_alignment="bottom")
with share_link:
    ui.copy_link("explore")
with share_file:
    ui.download_report(conn, run=run, tables=report.exact_glob(f"{schema}.{table}" if schema is not None else table))

column = ui.choose("Column", ["(whole table)", *columns["column_name"].to_list()], "column")

if column == "(whole table)":
    tab_cols, tab_keys, tab_idx, tab_sql = st.tabs(["Columns", "Keys", "Indexes", "Definition"])
    with tab_cols:
        shown = columns.select(
            "ordinal_position", "column_name", "data_type", "is_nullable", "column_default", "is_primary_key",
            "is_unique", "foreign_key", "comment").with_columns(
            pl.col("column_default", "foreign_key", "comment").fill_null(""))
        if shown.height <= LISTED_COLUMNS:
            yes = lambda name, no=None: (pl.when(pl.col(name)).then(pl.lit("yes"))  # noqa: E731
                                         .when(pl.col(name).not_()).then(pl.lit(no)).alias(name))
            # sparse columns (keys, defaults, references): an empty cell stays blank
            ui.list_table(shown.with_columns(yes("is_nullable", "no"), yes("is_primary_key"), yes("is_unique"),
                                             pl.col("foreign_key").str.strip_prefix(f"{conn}.")), {
                "ordinal_position": "#", "column_name": "column", "data_type": "type", "is_nullable": "nullable",
                "column_default": "default", "is_primary_key": "primary key", "is_unique": "unique",
                "foreign_key": "references", "comment": "comment"}, empty=" ")
        else:
            ui.table(shown, {
                "ordinal_position": st.column_config.NumberColumn("#", width="small"),
                "column_name": st.column_config.TextColumn("column"),
                "data_type": st.column_config.TextColumn("type"),
                "is_nullable": st.column_config.CheckboxColumn("nullable", width="small"),
                "column_default": st.column_config.TextColumn("default"),
                "is_primary_key": st.column_config.CheckboxColumn("primary key", width="small"),
                "is_unique": st.column_config.CheckboxColumn("unique", width="small"),
                "foreign_key": st.column_config.TextColumn("references"),
                "comment": st.column_config.TextColumn("comment", width="large"),
            })
        ui.download(shown, "columns")
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
        refs = reports.referenced_by(scan_columns, info["qualified_name"])
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
                rows = pl.DataFrame([{k.replace("_", " "): ", ".join(v) if isinstance(v, list) else
                                      (json.dumps(v) if isinstance(v, dict) else v)
                                      for k, v in i.items()} for i in items])
                ui.list_table(rows, {c: c for c in rows.columns})
    with tab_idx:
        indexes = custom.get("indexes") or []
        if indexes:
            ui.list_table(pl.DataFrame([{"name": i.get("name"), "columns": ", ".join(i.get("columns") or []),
                                         "unique": "yes" if i.get("unique") else "no",
                                         "primary": "yes" if i.get("primary") else "no",
                                         "method": i.get("method") or "", "predicate": i.get("predicate") or ""}
                                        for i in indexes]),
                          {"name": "index", "columns": "columns", "unique": "unique", "primary": "primary key",
                           "method": "method", "predicate": "where"})
        else:
            st.caption("No indexes.")
    with tab_sql:
        sql = info["view_definition"] or custom.get("sql")
        if sql:
            st.code(sql, language="sql", wrap_lines=True)
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
        ui.empty(f"No quality run of {ui.md(conn)} yet: profile it on the Runs page, or run {ui.command('quality', conn)}.")
        st.page_link("pages/runs.py", label="Profile it", icon=":material/monitoring:", query_params={"conn": conn})
    else:
        prof = ui.report(reports.column_profile, quality_run, info["qualified_name"], column)
        if prof.height == 0:
            ui.empty("The newest quality run has no profile of this column.")
        else:
            p = prof.row(0, named=True)
            b = st.columns(5)
            b[0].metric("Null %", f"{p['null_percentage']:.1f}" if p["null_percentage"] is not None else "-")
            b[1].metric("Distinct", f"{p['distinct_count']:,}" if p["distinct_count"] is not None else "-")
            b[2].metric("Min", ui.md(p["min_value"]) if p["min_value"] is not None else "-")
            b[3].metric("Max", ui.md(p["max_value"]) if p["max_value"] is not None else "-")
            ui.score_metric(b[4], p["quality_score"], label="Column score")
            left_, right_ = st.columns(2)
            with left_:
                ui.list_table(reports.profile_rows(p), {"metric": "metric", "value": "value"})
            with right_:
                ui.value_charts(ui.report(reports.top_values, quality_run, col["qualified_name"]),
                                ui.report(reports.histogram, quality_run, col["qualified_name"]), p)

# -- lineage and schema insights of the table, or of the chosen column -----------------------
node = info["qualified_name"] if column == "(whole table)" else col["qualified_name"]
st.markdown("#### Lineage")
walked = ui.lineage(run, node)
if walked.height == 0:
    st.caption("No view reads this, and it reads no other table (lineage comes from view SQL).")
else:
    st.altair_chart(lineage_chart.graph_chart(walked, node), width="stretch")
    with st.expander(f"{walked.height} edges, each end a link"):
        for r in walked.iter_rows(named=True):
            other = r["upstream"] if r["direction"] == "upstream" else r["downstream"]
            arrow = "←" if r["direction"] == "upstream" else "→"
            st.page_link("pages/explore.py", label=ui.md(f"{arrow} {other} ({r['kind']}, {r['depth']} step)"),
                         query_params=lineage_chart.explore_params(other, run))
findings = ui.findings(conn, run)
mine = findings.filter((pl.col("qualified_name") == node) | pl.col("qualified_name").str.starts_with(node + "."))
st.markdown(f"#### Schema insights ({mine.height})")
if mine.height == 0:
    st.caption("No findings (`dsa lint` checks the whole source).")
elif mine.height <= LISTED:
    ui.list_table(mine, {"rule": "rule", "message": "finding", "why": "why it matters", "evidence": "evidence"})
else:
    ui.table(mine.select("rule", "message", "why", "evidence"),
             {"message": "finding", "why": "why it matters"})
