"""The dsa app: one page per file in pages/, over the DuckDB catalog."""

import streamlit as st

from dsa import ui

st.set_page_config(page_title="dsa", page_icon=":material/dataset:", layout="wide")
ui.require_login()

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/explore.py", title="Explore", icon=":material/account_tree:", url_path="explore"),
    st.Page("pages/quality.py", title="Quality", icon=":material/monitoring:", url_path="quality"),
    st.Page("pages/changes.py", title="Changes", icon=":material/difference:", url_path="changes"),
    st.Page("pages/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
    st.Page("pages/connections.py", title="Connections", icon=":material/cable:", url_path="connections"),
]
page = st.navigation(pages)
if warning := ui.exposure_warning():
    st.warning(warning, icon=":material/public:")
if ui.read_only():
    st.sidebar.caption("Read-only catalog: scans and connection edits are off.")
page.run()
