"""Runs: the history of scan, quality and diff runs, and a Scan button that runs in the background."""

import polars as pl
import streamlit as st

from dsa import jobs, ui
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


@st.fragment(run_every=1.0)
def job_progress() -> None:
    """Polls the background job; when it ends, reruns the page so the new run shows."""
    job_id = st.session_state.get("job")
    if not job_id:
        return
    job = jobs.job(ui.local_store(), job_id)
    if job is None:
        return
    done = job["status"] in ("finished", "failed")
    runs = jobs.job_runs(ui.local_store(), job)
    label = f"{' and '.join(job['steps'])} of {ui.md(job['connection'])}"
    state = "error" if job["status"] == "failed" else ("complete" if done else "running")
    with st.status(("Finished: " if done else "Running: ") + label, state=state, expanded=not done):
        for run in runs:
            progress = ui.local_store().progress(run["run_id"]) or {}
            total, count = progress.get("total"), progress.get("done") or 0
            text = f"{run['run_type']} run {run['run_id']}: {run['status']}"
            if total:
                st.progress(min(1.0, count / total), text=ui.md(f"{text} · {count} of {total} tables · {progress.get('what', '')}"))
            else:
                st.text(text)
        if not runs and not done:
            st.write("starting...")
        for result in job.get("results", []):
            if result["exit_code"] not in (0, 3):
                st.error(ui.md(f"{result['step']} failed: {result['output']}"))
    if done and not st.session_state.get("job_seen"):
        st.session_state["job_seen"] = True
        st.rerun()  # the whole page, so the history below shows the finished run


job_progress()

history = ui.query(
    "SELECT run_id, connection, run_type, status, started_at, duration_s, schema_count, table_count, column_count, "
    "error_count, error, triggered_by FROM sync_runs ORDER BY started_at DESC, run_id DESC LIMIT 1000")
if history.height == 0:
    ui.empty("No runs yet. " + ui.START_HINT)
    st.stop()
f1, f2 = st.columns(2)
conn = ui.choose("Connection", ["(all)", *sorted(history["connection"].unique())], "conn", container=f1)
statuses = f2.multiselect("Status", ["success", "partial", "failed", "running"])
shown = history if conn == "(all)" else history.filter(pl.col("connection") == conn)
if statuses:
    shown = shown.filter(pl.col("status").is_in(statuses))
st.dataframe(shown, hide_index=True, width="stretch", column_config={
    "duration_s": st.column_config.NumberColumn("seconds", format="%.2f"),
    "started_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
})
if history.height == 1000:
    st.caption("The newest 1,000 runs; `dsa runs` or `dsa query` show the rest.")

with_errors = shown.filter((pl.col("error_count") > 0) | pl.col("error").is_not_null())["run_id"].to_list()
if with_errors:
    st.subheader("Errors")
    run = ui.choose("Run", with_errors, "run")
    errors = ui.query("SELECT qualified_name, object_type, phase, error FROM run_errors WHERE run_id = ? "
                      "ORDER BY qualified_name LIMIT 5000", run)
    message = shown.filter(pl.col("run_id") == run)["error"][0]
    if message:
        st.error(ui.md(message))
    if errors.height:
        st.dataframe(errors, hide_index=True, width="stretch")
