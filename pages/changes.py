"""Changes: what `dsa diff` found between two scan runs (default: the last two), and how the data drifted."""

import polars as pl
import streamlit as st

from dsa import charts, reports, ui

ui.ensure_navigation()

st.title("Changes")
scans = ui.report(reports.scan_runs)
if scans.height == 0:
    ui.start_here("Nothing scanned yet: changes appear once a connection was scanned twice.")
c0, c1, c2 = st.columns(3)
conn = ui.choose("Connection", scans["connection"].unique(maintain_order=True).to_list(), "conn", container=c0)
mine = scans.filter(pl.col("connection") == conn)
if mine.height < 2:
    ui.empty(f"Only one scan of {ui.md(conn)} so far: changes appear after the next scan.")
    st.page_link("pages/runs.py", label="Scan it again", icon=":material/play_arrow:", query_params={"conn": conn})
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

diff_run = ui.report(reports.stored_diff, old, new)
if diff_run is None:
    ui.empty(f"These two scans are not compared yet. {ui.command('diff', conn, '--from', old, '--to', new)} compares "
             "them; so does the button.")
    if not ui.read_only() and st.button("Compare them", type="primary", icon=":material/difference:"):
        ui.compare_runs(conn, old, new)
    st.stop()

KINDS = ["added", "removed", "renamed", "modified", "moved", "unknown"]
summary = ui.report(reports.change_counts, diff_run)
flat = ui.report(reports.changes, diff_run)
st.caption(f"The stored diff run {diff_run}: what {ui.command('diff', conn, '--from', old, '--to', new)} reports.")
# what the removed, renamed and retyped objects reach downstream, in the older scan's lineage
reached = [i for i in ui.impact(diff_run) if i["downstream"]]
breaking = [i for i in reached if i["breaking"]]
if breaking:
    st.error(f"{len(breaking)} breaking changes: views read what is gone.", icon=":material/link_off:")
if reached:
    ui.table(pl.DataFrame([{"change": f"{i['entity_type']} {i['change_type']}", "object": i["previous_name"],
                            "breaking": i["breaking"], "downstream": len(i["downstream"]),
                            "reaches": ", ".join(d["qualified_name"] for d in i["downstream"][:20])}
                           for i in reached]))
k = st.columns(len(KINDS))
for i, kind in enumerate(KINDS):
    per = summary.filter(pl.col("change_type") == kind)
    detail = ", ".join(f"{r['n']} {r['entity_type']}{'es' if r['entity_type'] == 'index' else 's'}"
                       for r in per.iter_rows(named=True) if r["n"])
    k[i].metric(kind.capitalize(), f"{int(per['n'].sum()):,}", help=detail or "none")

CHANGE_COLUMNS = {
    "entity_type": st.column_config.TextColumn("object type", width="small"),
    "object": st.column_config.TextColumn("name", width="medium"),
    "attribute": st.column_config.TextColumn("what changed", width="small"),
    "from": st.column_config.TextColumn("from", width="medium"),
    "to": st.column_config.TextColumn("to", width="medium"),
    "previous_name": st.column_config.TextColumn("previous name", width="medium"),
}
SHOWN = 5000
tabs = st.tabs([kind.capitalize() for kind in KINDS] + ["Data drift"])
for tab, kind in zip(tabs, KINDS):
    with tab:
        rows = flat.filter(pl.col("change_type") == kind)
        if rows.height == 0:
            st.caption(f"Nothing {kind}." if kind != "unknown" else
                       "Nothing unknown: the newer run read every object the older one had.")
            continue
        if kind == "unknown":
            st.caption("Objects a run could not read: not observed is not removed.")
        shown = rows.drop("change_type")
        if kind not in ("modified", "renamed", "moved"):
            shown = shown.drop("attribute", "from", "to")
        if kind != "renamed":
            shown = shown.drop("previous_name")
        ui.table(shown.head(SHOWN), CHANGE_COLUMNS)
        if rows.height > SHOWN:
            st.caption(f"Showing {SHOWN:,} of {rows.height:,}; the download and `dsa diff` have them all.")
        ui.download(shown, f"changes_{kind}")

with tabs[-1]:
    drift = ui.report(reports.data_drift, diff_run)
    if drift.height == 0:
        st.caption("No data drift: either nothing moved beyond the thresholds, or a scan has no quality run "
                   f"({ui.command('quality', conn)} after each scan).")
    else:
        for chart in (charts.drift_null_moves(drift), charts.drift_row_changes(drift)):
            if chart is not None:
                st.altair_chart(chart, width="stretch")
        ui.table(drift, {
            "entity_type": st.column_config.TextColumn("object type", width="small"),
            "qualified_name": st.column_config.TextColumn("name", width="medium"),
            "metric": st.column_config.TextColumn("metric", width="small"),
            "from_value": st.column_config.TextColumn("from", width="small"),
            "to_value": st.column_config.TextColumn("to", width="small"),
            "change": st.column_config.NumberColumn("change", format="%.2f", width="small"),
            "unit": st.column_config.TextColumn("unit", width="small", help="pct: relative change, %; points: absolute"),
            "severity": st.column_config.NumberColumn("severity", format="%.2f", width="small",
                                                      help="the change divided by its threshold"),
        })
        ui.download(drift, "data_drift")
