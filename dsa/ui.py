"""Streamlit helpers shared by the pages: the one place in `dsa` that imports Streamlit.

Pages read the catalog through `query()`, which caches results keyed on the catalog's run
list, so a new run refreshes what it must and a rerun is served from cache.
"""

from __future__ import annotations

import os

import polars as pl
import streamlit as st

from dsa.catalog import Catalog, open_catalog, read_only_query
from dsa.config import Config, load_config


@st.cache_resource
def store() -> Catalog:
    """The catalog: `DSA_STORE` (set by `dsa app`) or the config's `store:`, a folder or a
    postgresql:// URL. Scans started from the app are mirrored like the command line's."""
    try:
        config = load_config()
    except Exception:
        config = Config()
    return open_catalog(os.environ.get("DSA_STORE") or config.store, config)


def runs_version() -> str:
    """Changes whenever a run starts or finishes: the cache key for every catalog query."""
    runs = store().sync_runs()
    if runs.height == 0:
        return "empty"
    return "|".join(f"{r}:{s}" for r, s in zip(runs["run_id"], runs["status"]))


@st.cache_data(show_spinner=False, max_entries=256)
def _query(sql: str, params: tuple, version: str) -> pl.DataFrame:
    return read_only_query(store(), sql, list(params))


def query(sql: str, *params) -> pl.DataFrame:
    return _query(sql, tuple(params), runs_version())


def read_only() -> bool:
    return os.environ.get("DSA_READ_ONLY", "").lower() in ("1", "true", "yes")
