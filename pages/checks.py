"""Checks: the newest verdicts by table, each check's history, failing samples, suggested checks."""

import json

import streamlit as st

from dsa import charts, reports, ui
from dsa.errors import DsaError

ui.ensure_navigation()

st.title("Checks")

conns = ui.report(reports.connections)["connection"].to_list()
if not conns:
    ui.start_here("Nothing scanned yet: checks judge the tables of a scanned connection.")
left, right = st.columns(2)
conn = ui.choose("Connection", conns, "conn", container=left)
results = ui.report(reports.check_results, conn)

if results.height == 0:
    st.info(f"No checks have run on {ui.md(conn)}: add them under `checks:` in dsa.yaml (docs/checks.md), "
            f"then run {ui.command('check', conn)}.")
else:
    counts = {k: results.filter(results["outcome"] == k).height for k in ("fail", "error", "warn", "pass")}
    cols = st.columns(4)
    for col, (label, key) in zip(cols, (("Failed", "fail"), ("Errored", "error"), ("Warned", "warn"), ("Passed", "pass"))):
        col.metric(label, counts[key])
    st.caption(f"Run {results['run_id'][0]} at {results['started_at'][0]:%Y-%m-%d %H:%M UTC}")
    tables = results["table_name"].fill_null(results["qualified_name"]).unique(maintain_order=True).to_list()
    table = ui.choose("Table", ["(all)", *tables], "table", container=right)
    shown = results if table == "(all)" else results.filter(results["table_name"].fill_null(results["qualified_name"]) == table)
    marks = {"fail": "🔴 fail", "error": "🟠 error", "warn": "🟡 warn", "pass": "🟢 pass"}
    view = shown.select("qualified_name", "name", "column_name", "value_text", "outcome", "fail_threshold",
                        "warn_threshold", "samples", "error").with_columns(
        shown["outcome"].replace_strict(marks, default=None).alias("outcome"))
    ui.table(view, column_config={"qualified_name": "table", "name": "check", "column_name": "column", "value_text": "value",
                                  "fail_threshold": "fail unless", "warn_threshold": "warn unless"})

    st.subheader("History of a check")
    keys = [f"{r['qualified_name']} · {r['name']}" for r in shown.iter_rows(named=True)]
    picked = ui.choose("Check", keys, "check")
    row = shown.row(keys.index(picked), named=True)
    history = ui.report(reports.check_history, conn, row["qualified_name"], row["name"])
    if history.height > 1 and history["value"].drop_nulls().len():
        st.altair_chart(charts.check_history(history, row["metric"]), width="stretch")
    else:
        st.caption("The history appears after the check's second run.")
    if row["samples"]:
        st.markdown("**Failing values**")
        st.dataframe(json.loads(row["samples"]), hide_index=True, placeholder=ui.EMPTY_CELL)
    elif row["samples_masked"] and row["outcome"] in ("fail", "warn"):
        st.caption("The column is masked: its values are never fetched or stored.")

st.subheader("Suggested checks")
st.caption("Drawn from the newest profile: review them, then paste them under `checks:` in dsa.yaml.")
try:
    st.code(ui.suggested_checks(conn), language="yaml")
except DsaError as exc:
    st.caption(ui.md(exc))
