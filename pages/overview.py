"""Overview: connections and their runs."""

import streamlit as st

from dsa import ui

st.title("Overview")
runs = ui.store().sync_runs()
if runs.height == 0:
    st.info("The catalog is empty. Run `dsa demo` to load the demo shop, or `dsa scan SOURCE`.")
    st.stop()

latest = ui.query(
    """
    SELECT connection, count(DISTINCT schema_name) AS schemas, count(*) AS tables, sum(column_count) AS columns
    FROM latest_table_metadata GROUP BY connection ORDER BY connection
    """
)
st.subheader("Connections")
st.dataframe(latest, hide_index=True, use_container_width=True)
st.subheader("Runs")
st.dataframe(
    runs.select("run_id", "connection", "run_type", "status", "started_at", "duration_s", "schema_count",
                "table_count", "column_count", "error").reverse(),
    hide_index=True,
    use_container_width=True,
)
