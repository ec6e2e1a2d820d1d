"""The dsa app: one page per file in pages/, over the DuckDB catalog."""

from pathlib import Path

import streamlit as st

from dsa import ui

# The favicon is a file served by the app itself: a `:material/...:` icon would be fetched from
# fonts.gstatic.com, and no request of the app leaves the machine.
st.set_page_config(page_title="dsa", page_icon=str(Path(__file__).parent / "static" / "favicon.png"), layout="wide")
ui.require_login()

# The sidebar's page links are drawn by `ui.sidebar_nav` (titles, never file names: Streamlit's own
# menu showed the files' names on a fresh server's first page, before this script had run once).
page = st.navigation([st.Page(path, title=title, icon=icon, url_path=url_path or None, default=not url_path)
                      for path, title, icon, url_path in ui.PAGES], position="hidden")
ui.sidebar_nav()
if warning := ui.exposure_warning():
    st.warning(warning, icon=":material/public:")
if ui.read_only():
    st.sidebar.caption("Read-only catalog: scans and connection edits are off.")
page.run()
