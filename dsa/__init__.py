"""dsa: a metadata catalog and data-quality profiler.

The library behind the `dsa` command and the Streamlit app: connectors extract metadata and
profiles from sources as Polars frames, the store keeps every run immutable as Parquet, and
DuckDB SQL from `queries/` reads, diffs and reports on it.
"""

__version__ = "0.1.0"
