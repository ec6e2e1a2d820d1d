"""Changes: what changed between two scan runs (default: the last two), and how the data drifted."""

import polars as pl
import streamlit as st

from dsa import charts, compare, ui

ui.ensure_navigation()

st.title("Changes")
scans = ui.query("SELECT connection, run_id, started_at, status FROM sync_runs WHERE run_type = 'scan' "
                 "AND status IN ('success', 'partial') ORDER BY connection, started_at DESC, run_id DESC")
if scans.height == 0:
    ui.empty("No scan yet. " + ui.START_HINT)
    st.stop()
c0, c1, c2 = st.columns(3)
conn = ui.choose("Connection", scans["connection"].unique(maintain_order=True).to_list(), "conn", container=c0)
mine = scans.filter(pl.col("connection") == conn)
if mine.height < 2:
    ui.empty(f"Only one scan of {ui.md(conn)} so far: changes appear after the next scan (`dsa scan {conn}`).")
    st.stop()
labels = {r["run_id"]: ui.run_label(r) for r in mine.iter_rows(named=True)}
ids = list(labels)
old = ui.choose("From (older)", ids, "from", default=ids[1], format_func=lambda r: labels[r], container=c1)
new = ui.choose("To (newer)", ids, "to", default=ids[0], format_func=lambda r: labels[r], container=c2)
if old == new:
    ui.empty("Choose two different runs.")
    st.stop()

share_link, share_file = st.columns([4, 1], vertical_alignment="bottom")
with share_link:
    ui.copy_link("changes")
with share_file:
    ui.download_report(conn, run=new, against=old)

stored = ui.stored_diff(old, new)
KINDS = ["added", "removed", "renamed", "modified", "unknown"]
if stored:
    # the diff feature's own result: constraints, indexes, moves and normalized view SQL included
    summary = ui.change_counts(old, new)
    flat = ui.report("app_stored_diff", stored)
    KINDS = ["added", "removed", "renamed", "modified", "moved", "unknown"]
    st.caption(f"From the stored diff run {stored} (`dsa diff`).")
else:
    changes = ui.changes(old, new)
    summary = changes.group_by("entity_type", "change_type").len("n")
    flat = compare.flatten(changes)
    st.caption(f"Compared by the app. `dsa diff {conn} --from {old} --to {new}` stores the full diff "
               "(constraints, indexes, moves), which this page then shows.")
k = st.columns(len(KINDS))
for i, kind in enumerate(KINDS):
    per = summary.filter(pl.col("change_type") == kind)
    detail = ", ".join(f"{r['n']} {r['entity_type']}s" for r in per.sort("entity_type").iter_rows(named=True) if r["n"])
    k[i].metric(kind.capitalize(), int(per["n"].sum()), help=detail or "none")

tabs = st.tabs([kind.capitalize() for kind in KINDS] + ["Data drift"])
for tab, kind in zip(tabs, KINDS):
    with tab:
        rows = flat.filter(pl.col("change_type") == kind)
        if rows.height == 0:
            st.caption(f"Nothing {kind}." if kind != "unknown" else
                       "Nothing unknown: the newer run read every object the older one had.")
            continue
        if kind == "unknown":
            st.caption("Objects the newer run could not read: not observed is not removed.")
        shown = rows.drop("change_type")
        if kind not in ("modified", "renamed", "moved"):
            shown = shown.drop("attribute", "from", "to")
        if "previous_name" in shown.columns and kind != "renamed":
            shown = shown.drop("previous_name")
        st.dataframe(shown.head(5000), hide_index=True, width="stretch")
        if rows.height > 5000:
            st.caption(f"Showing 5,000 of {rows.height:,}; use `dsa diff` or `dsa query` for all.")

with tabs[-1]:
    drift = pl.DataFrame()
    if ui.has("column_quality_metrics"):
        # the quality run that profiled each scan: named in its details, else the newest one
        # between that scan and the connection's next
        tied = ui.query(
            "SELECT s.run_id AS scan, coalesce("
            "(SELECT arg_max(q.run_id, q.started_at) FROM sync_runs q WHERE q.run_type = 'quality' "
            " AND q.status IN ('success', 'partial') AND json_extract_string(q.details, '$.scan_run_id') = s.run_id), "
            "(SELECT arg_max(q.run_id, q.started_at) FROM sync_runs q WHERE q.run_type = 'quality' "
            " AND q.connection = s.connection AND q.status IN ('success', 'partial') AND q.started_at >= s.started_at "
            " AND q.started_at < coalesce((SELECT min(n.started_at) FROM sync_runs n WHERE n.run_type = 'scan' "
            " AND n.connection = s.connection AND n.started_at > s.started_at), TIMESTAMPTZ '9999-01-01'))) AS quality "
            "FROM sync_runs s WHERE s.run_id IN (?, ?)", old, new)
        q = dict(zip(tied["scan"], tied["quality"]))
        if q.get(old) and q.get(new):
            drift = ui.report("app_drift", q[old], q[new])
    if drift.height == 0:
        st.caption(f"Data drift needs a quality run after each of the two scans (`dsa quality {conn}`).")
    else:
        moved = drift.filter(pl.col("null_pct_change").abs() > 0).head(30)
        if moved.height:
            st.altair_chart(charts.null_moves(moved.with_columns(
                (pl.col("table_name") + "." + pl.col("column_name")).alias("column"))), width="stretch")
        rows = drift.group_by("table_name").agg(pl.col("old_rows").max(), pl.col("new_rows").max()).with_columns(
            (pl.col("new_rows") - pl.col("old_rows")).alias("row_change")).filter(pl.col("row_change") != 0)
        if rows.height:
            st.altair_chart(charts.row_changes(rows.sort("row_change").head(50)), width="stretch")
        st.dataframe(drift, hide_index=True, width="stretch")
