"""Runs: the history of scan, quality and diff runs, and a Scan button that runs in the background."""

import polars as pl
import streamlit as st

from dsa import jobs, reports, ui
from dsa.errors import DsaError

ui.ensure_navigation()

st.title("Runs")


def configured_sources() -> list[str]:
    try:
        return sorted(ui.sources().sources)
    except DsaError as exc:
        st.error(ui.md(exc))
        return []


if not ui.read_only():
    with st.expander("Scan a connection", expanded=st.session_state.get("job") is None, icon=":material/play_arrow:"):
        names = configured_sources()
        if not names:
            st.caption("No connection yet: add one on the Connections page, or load the demo from the Overview.")
        else:
            with st.form("scan"):
                name = st.selectbox("Connection", names,
                                    index=names.index(st.query_params["conn"]) if st.query_params.get("conn") in names else 0)
                a, b, c = st.columns(3)
                do_scan = a.checkbox("Scan metadata", value=True)
                can_profile = jobs.quality_available()
                do_profile = b.checkbox("Profile data (quality)", value=False, disabled=not can_profile,
                                        help=None if can_profile else "needs the `dsa quality` command")
                sample = c.text_input("Sample", placeholder="e.g. 10% or 100000 rows (empty: config default)",
                                      disabled=not can_profile)
                if st.form_submit_button("Scan", type="primary", icon=":material/play_arrow:"):
                    steps = [s for s, on in (("scan", do_scan), ("quality", do_profile)) if on]
                    try:
                        st.session_state["job"] = ui.start_job(name, steps, sample.strip() or None)
                        st.session_state["job_seen"] = False
                    except jobs.AlreadyRunning as exc:
                        st.warning(ui.md(exc), icon=":material/hourglass_top:")
                    except DsaError as exc:
                        st.error(ui.md(exc))


@st.fragment(run_every=1.0 if st.session_state.get("job") and not st.session_state.get("job_seen") else None)
def job_progress() -> None:
    """Polls the background job (every second while it runs); when it ends, reruns the page so the
    new run shows. A failed job (or a run of it that failed) is shown failed, open, with its error."""
    job_id = st.session_state.get("job")
    if not job_id:
        return
    job = jobs.job(ui.local_store(), job_id)
    if job is None:
        return
    done = job["status"] in ("finished", "failed")
    runs = jobs.job_runs(ui.local_store(), job)
    failed = job["status"] == "failed" or any(run["status"] == "failed" for run in runs)
    label = f"{' and '.join(job['steps'])} of {ui.md(job['connection'])}"
    state = "error" if failed and done else ("complete" if done else "running")
    prefix = "Failed: " if failed and done else ("Finished: " if done else "Running: ")
    with st.status(prefix + label, state=state, expanded=not done or failed):
        for run in runs:
            progress = ui.local_store().progress(run["run_id"]) or {}
            total, count = progress.get("total"), progress.get("done") or 0
            text = f"{run['run_type']} run {run['run_id']}: {run['status']}"
            if run["status"] == "failed":
                st.error(ui.md(f"{text}: {run.get('error') or 'no error message'}"), icon=":material/error:")
            elif total:
                st.progress(min(1.0, count / total), text=ui.md(f"{text} · {count} of {total} tables · {progress.get('what', '')}"))
            else:
                st.text(text)
        if not runs and not done:
            st.write("starting...")
        for result in job.get("results", []):
            if jobs.step_failed(result) and not any(run["status"] == "failed" for run in runs):
                st.error(ui.md(f"{result['step']} failed: {result['output']}"), icon=":material/error:")
    if done and not st.session_state.get("job_seen"):
        st.session_state["job_seen"] = True
        st.rerun()  # the whole page, so the history below shows the finished run


job_progress()

history = ui.report(reports.run_history)
if history.height == 0:
    ui.start_here("No runs yet: scan a connection above, or load the demo.")
f1, f2 = st.columns(2)
conn = ui.choose("Connection", ["all", *sorted(history["connection"].unique())], "conn", container=f1)
statuses = f2.multiselect("Status", ["success", "partial", "failed", "running"], placeholder="all")
shown = history if conn == "all" else history.filter(pl.col("connection") == conn)
if statuses:
    shown = shown.filter(pl.col("status").is_in(statuses))
shown = shown.select("started_at", "connection", "run_type", "status", "error", "duration_s", "table_count",
                     "column_count", "error_count", "triggered_by", "run_id").with_columns(
    pl.col("error", "triggered_by").fill_null(""))
ui.table(shown, {
    "started_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "connection": st.column_config.TextColumn("connection", width="small"),
    "run_type": st.column_config.TextColumn("kind", width="small"),
    "status": st.column_config.TextColumn("status", width="small"),
    "error": st.column_config.TextColumn("error", width="medium", help="why the run failed (the full text below)"),
    "duration_s": st.column_config.NumberColumn("seconds", format="%.2f", width="small"),
    "table_count": st.column_config.NumberColumn("tables", format="localized", width="small"),
    "column_count": st.column_config.NumberColumn("columns", format="localized", width="small"),
    "error_count": st.column_config.NumberColumn("errors", format="localized", width="small",
                                                 help="objects the run could not read, and its own failure"),
    "triggered_by": st.column_config.TextColumn("by", width="small"),
    "run_id": st.column_config.TextColumn("run id", width="small"),
})
ui.download(shown, "runs")
if history.height == 1000:
    st.caption("The newest 1,000 runs; `dsa runs` or `dsa query` show the rest.")

with_errors = shown.filter((pl.col("error_count") > 0) | (pl.col("error") != ""))["run_id"].to_list()
if with_errors:
    st.subheader("Errors")
    run = ui.choose("Run", with_errors, "run")
    message = shown.filter(pl.col("run_id") == run)["error"][0]
    if message:
        st.error(ui.md(message))
    errors = ui.report(reports.run_errors, run)
    if errors.height:
        ui.table(errors, {
            "qualified_name": st.column_config.TextColumn("object"),
            "object_type": st.column_config.TextColumn("object type", width="small"),
            "phase": st.column_config.TextColumn("phase", width="small"),
            "error": st.column_config.TextColumn("error", width="large"),
        })
