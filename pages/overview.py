"""Overview: every connection's newest scan and quality run, counts, score trend, latest changes."""

import polars as pl
import streamlit as st

from dsa import charts, ui
from dsa.errors import DsaError

ui.ensure_navigation()

st.title("Overview")

if ui.runs().height == 0:
    st.subheader("The catalog is empty")
    st.markdown(
        "dsa catalogs databases and data files: it scans their structure, profiles their data and shows what "
        "changed. To start, load the bundled demo shop (two versions of a small database with deliberate "
        "quality problems), or scan your own source:"
    )
    st.code("dsa demo                 # the demo shop\ndsa scan SOURCE          # a source from dsa.yaml\n"
            "dsa quality SOURCE       # profile its data", language="bash")
    if not ui.read_only() and st.button("Load the demo", type="primary", icon=":material/play_arrow:"):
        try:
            ui.refuse_if_read_only("loading the demo")
            from dsa.demo import run_demo

            with st.spinner("Building and scanning the demo shop..."):
                run_demo(ui.local_store())
        except DsaError as exc:
            st.error(ui.md(exc))
        else:
            st.rerun()
    st.stop()

ui.copy_link("")
overview = ui.report("app_overview")
trend = ui.report("app_score_trend") if ui.has("table_quality_metrics") else pl.DataFrame()


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
        cols[0].metric("Schemas", row["schemas"] if row["schemas"] is not None else "-")
        cols[1].metric("Tables", row["tables"] if row["tables"] is not None else "-")
        cols[2].metric("Columns", row["columns"] if row["columns"] is not None else "-")
        scores = trend.filter(pl.col("connection") == name) if trend.height else trend
        if scores.height:
            last = scores["quality_score"][-1]
            delta = last - scores["quality_score"][-2] if scores.height > 1 else None
            cols[3].metric("Quality score", f"{last:.1f}", None if delta is None else f"{delta:+.1f}")
        else:
            cols[3].metric("Quality score", "-", help="No quality run yet")
        cols[4].markdown(
            f"**Last scan**  \n{when(row['scan_at'])}  \n{ui.md(row['scan_status'] or 'none')}"
            f" · {ui.fmt_duration(row['scan_seconds'])}"
        )
        cols[5].markdown(
            f"**Last quality run**  \n{when(row['quality_at'])}  \n{ui.md(row['quality_status'])}"
            f" · {ui.fmt_duration(row['quality_seconds'])}" if row["quality_run"] else "**Last quality run**  \nnever"
        )
        left, right = st.columns(2)
        with left:
            if scores.height > 1:
                st.altair_chart(charts.score_trend(scores), width="stretch")
            elif scores.height == 1:
                st.caption("One quality run so far: the trend appears after the next one.")
            else:
                st.caption(f"No quality run yet: press Profile on the Runs page or run `dsa quality {name}`.")
        with right:
            scans = ui.query(
                "SELECT run_id FROM sync_runs WHERE connection = ? AND run_type = 'scan' "
                "AND status IN ('success', 'partial') ORDER BY started_at DESC, run_id DESC LIMIT 2", name)
            if scans.height < 2:
                st.caption("Changes appear after the second scan.")
            else:
                new, old = scans["run_id"][0], scans["run_id"][1]
                changed = ui.change_counts(old, new).filter(pl.col("n") > 0)
                st.markdown("**Latest changes**")
                if changed.height == 0:
                    st.caption("Nothing changed between the last two scans.")
                else:
                    kinds = [k for k in ("added", "removed", "renamed", "modified", "moved", "unknown")
                             if k in changed["change_type"].to_list()]
                    st.dataframe(changed.pivot("change_type", index="entity_type", values="n").fill_null(0)
                                 .select("entity_type", *kinds),
                                 hide_index=True, width="stretch")
                st.page_link("pages/changes.py", label="See the changes", icon=":material/difference:",
                             query_params={"conn": name, "from": old, "to": new})
