"""Overview: what needs attention first (failed checks, anomalies, score drops, schema changes,
schema findings), then every connection's newest scan and quality run, counts, score trend with
its anomalies marked, latest changes."""

import polars as pl
import streamlit as st

from dsa import charts, reports, ui

ui.ensure_navigation()

st.title("Overview")
LISTED = 12  # up to this many rows a summary is a plain list; more: a scrollable grid

if ui.runs().height == 0:
    st.subheader("The catalog is empty")
    st.markdown(
        "dsa catalogs databases and data files: it scans their structure, profiles their data and shows what "
        "changed. To start, load the bundled demo shop (two versions of a small database with deliberate "
        "quality problems), or scan your own source.")
    ui.start_here("Nothing scanned yet.")

ui.copy_link("")
overview = ui.report(reports.overview)
attention = ui.attention()
if overview.height:
    st.subheader("Needs attention")
    counts = ui.attention_counts(attention)
    for col, (label, n) in zip(st.columns(len(counts)), counts.items()):
        col.metric(label, f"{n:,}")
    if attention.height == 0:
        st.success("Nothing needs attention: no failed check, anomaly, score drop, schema change or schema finding.")
    else:
        shown = attention.select("connection", "kind", "what", "detail")
        labels = {"connection": "connection", "kind": "what happened", "what": "object", "detail": "detail"}
        if shown.height <= LISTED:
            ui.list_table(shown, labels)
        else:
            ui.table(shown, column_config={"connection": st.column_config.TextColumn("connection", width="small"),
                                           "kind": st.column_config.TextColumn("what happened", width="small"),
                                           "what": st.column_config.TextColumn("object", width="medium"),
                                           "detail": st.column_config.TextColumn("detail", width="large")})
        links = st.columns(4)
        links[0].page_link("pages/checks.py", label="See the checks", icon=":material/rule:")
        links[1].page_link("pages/quality.py", label="See the quality", icon=":material/monitoring:")
        links[2].page_link("pages/changes.py", label="See the changes", icon=":material/difference:")
        links[3].page_link("pages/explore.py", label="See the schema findings", icon=":material/search:")

trend = ui.report(reports.score_trend)
scans = ui.report(reports.scan_runs)
KINDS = ["added", "removed", "renamed", "modified", "moved", "unknown"]


def when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


for row in overview.iter_rows(named=True):
    name = row["connection"]
    with st.container(border=True):
        head, button = st.columns([4, 1], vertical_alignment="bottom")
        head.subheader(ui.md(name))
        if row["scan_run"]:
            with button:
                ui.download_report(name)
        cols = st.columns(6)
        for col, label, key in ((cols[0], "Schemas", "schemas"), (cols[1], "Tables", "tables"),
                                (cols[2], "Columns", "columns")):
            col.metric(label, f"{row[key]:,}" if row[key] is not None else "-")
        scores = trend.filter(pl.col("connection") == name)
        last = scores["quality_score"][-1] if scores.height else None
        change = last - scores["quality_score"][-2] if scores.height > 1 else None
        ui.score_metric(cols[3], last, change)
        cols[4].markdown(
            f"**Last scan**  \n{when(row['scan_at'])}  \n{ui.md(row['scan_status'] or 'none')}"
            f" · {ui.fmt_duration(row['scan_seconds'])}")
        cols[5].markdown(
            f"**Last quality run**  \n{when(row['quality_at'])}  \n{ui.md(row['quality_status'])}"
            f" · {ui.fmt_duration(row['quality_seconds'])}" if row["quality_run"] else "**Last quality run**  \nnever")
        left, right = st.columns(2)
        with left:
            if scores.height > 1:
                st.altair_chart(charts.score_trend(scores, ui.anomaly_marks(name)), width="stretch")
            elif scores.height == 1:
                st.caption("One quality run so far: the trend appears after the next one.")
            else:
                st.caption(f"No quality run yet: press Profile on the Runs page or run {ui.command('quality', name)}.")
                st.page_link("pages/runs.py", label="Profile it", icon=":material/monitoring:",
                             query_params={"conn": name})
        with right:
            mine = scans.filter(pl.col("connection") == name)
            if mine.height < 2:
                st.caption("Changes appear after the second scan.")
                continue
            new, old = mine["run_id"][0], mine["run_id"][1]
            diff_run = ui.report(reports.stored_diff, old, new)
            st.markdown("**Latest changes**")
            if diff_run is None:
                st.caption("The last two scans are not compared yet.")
            else:
                changed = ui.report(reports.change_counts, diff_run).filter(pl.col("n") > 0)
                if changed.height == 0:
                    st.caption("Nothing changed between the last two scans.")
                else:
                    kinds = [k for k in KINDS if k in changed["change_type"].to_list()]
                    counts = changed.pivot("change_type", index="entity_type", values="n").fill_null(0)
                    ui.list_table(counts, {"entity_type": "object", **{k: k for k in kinds}},
                                  {k: "{:,}" for k in kinds})
            st.page_link("pages/changes.py", label="See the changes", icon=":material/difference:",
                         query_params={"conn": name, "from": old, "to": new})
