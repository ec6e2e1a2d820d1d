"""The dsa app: one page per file in pages/, over the DuckDB catalog."""

import streamlit as st

st.set_page_config(page_title="dsa", page_icon=":material/dataset:", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
]
st.navigation(pages).run()
