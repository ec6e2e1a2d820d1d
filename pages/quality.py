"""Quality: score distribution, completeness and uniqueness per column, the worst columns and
why, top values of a chosen column, and the score over time."""

import altair as alt
import polars as pl
import streamlit as st

from dsa import charts, queries, ui

ui.ensure_navigation()

st.title("Quality")
CHART_ROWS = 5000  # no chart gets more rows than this: aggregate or rank in DuckDB first
PER_COLUMN = 2000  # up to this many columns the scatter shows each one

conns = ui.query("SELECT DISTINCT connection FROM sync_runs ORDER BY 1")["connection"].to_list()
if not conns:
    ui.empty("No connection yet. " + ui.START_HINT)
    st.stop()
left, right = st.columns(2)
conn = ui.choose("Connection", conns, "conn", container=left)
if not ui.has("column_quality_metrics", "table_quality_metrics", "column_top_values"):
    ui.empty(f"No quality run yet: press Profile on the Runs page or run `dsa quality {conn}`.")
    st.stop()
qruns = ui.report("app_quality_run", conn)
if qruns.height == 0:
    ui.empty(f"No quality run yet: press Profile on the Runs page or run `dsa quality {conn}`.")
    st.stop()
labels = {r["run_id"]: ui.run_label(r) for r in qruns.iter_rows(named=True)}
run = ui.choose("Quality run", list(labels), "run", format_func=lambda r: labels[r], container=right)

share_link, share_file = st.columns([4, 1], vertical_alignment="bottom")
with share_file:
    ui.download_report(conn, run=run)

# filters
names = ui.query("SELECT DISTINCT schema_name, table_name, type_family FROM latest_column_metadata "
                 "WHERE connection = ? ORDER BY ALL", conn)
f1, f2, f3, f4 = st.columns(4)
schema = ui.choose("Schema", ["(all)", *names["schema_name"].drop_nulls().unique(maintain_order=True)], "schema",
                   container=f1)
tables = names.filter(pl.col("schema_name") == schema) if schema != "(all)" else names
table = ui.choose("Table", ["(all)", *tables["table_name"].unique(maintain_order=True)], "table", container=f2)
all_families = names["type_family"].drop_nulls().unique().sort().to_list()
key = ui.url_key("types", lambda raw: [f for f in (raw or "").split(",") if f in all_families])
st.session_state[key] = [f for f in st.session_state[key] if f in all_families]  # another connection's types
families = f3.multiselect("Type", all_families, key=key)
ui.url_store("types", ",".join(families) or None)


def score_range(raw):
    try:
        return tuple(sorted(max(0, min(100, int(v))) for v in (raw or "0-100").split("-", 1)))
    except ValueError:
        return 0, 100


low, high = f4.slider("Score range", 0, 100, key=ui.url_key("score", score_range))
ui.url_store("score", None if (low, high) == (0, 100) else f"{low}-{high}")
with share_link:
    ui.copy_link("quality")  # after the filters: they are in the URL too
params = (run, None if schema == "(all)" else schema, None if table == "(all)" else table, families, low, high)
base = queries.text("app_quality_columns")

totals = ui.query(f"SELECT count(*) AS columns, avg(quality_score) AS score, avg(null_percentage) AS nulls "
                  f"FROM ({base})", *params).row(0, named=True)
if not totals["columns"]:
    ui.empty("No profiled column matches these filters.")
    st.stop()
k = st.columns(3)
k[0].metric("Columns", f"{totals['columns']:,}")
k[1].metric("Mean score", f"{totals['score']:.1f}" if totals["score"] is not None else "-")
k[2].metric("Mean null %", f"{totals['nulls']:.1f}" if totals["nulls"] is not None else "-")

dist = ui.query(f"SELECT least(floor(quality_score / 5) * 5, 95) AS bin, count(*) AS columns FROM ({base}) "
                f"WHERE quality_score IS NOT NULL GROUP BY 1 ORDER BY 1", *params)
c1, c2 = st.columns(2)
with c1:
    st.markdown("**Score distribution**")
    st.altair_chart(charts.score_distribution(dist), width="stretch")
with c2:
    st.markdown("**Null % and distinct % per column**")
    color = alt.Color("quality_score:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 100]), title="score")
    axes = dict(x=alt.X("null_percentage:Q", title="null %", scale=alt.Scale(domain=[0, 100])),
                y=alt.Y("distinct_percentage:Q", title="distinct %", scale=alt.Scale(domain=[0, 100])))
    if totals["columns"] <= PER_COLUMN:
        points = ui.query(f"SELECT table_name, column_name, null_percentage, distinct_percentage, quality_score "
                          f"FROM ({base})", *params)
        chart = alt.Chart(points.to_pandas()).mark_circle(size=60, opacity=0.7).encode(
            **axes, color=color,
            tooltip=["table_name", "column_name", "null_percentage", "distinct_percentage", "quality_score"])
    else:
        # many columns: one mark per 2 x 2 point cell (at most 2,601 rows), sized by its column count
        cells = ui.query(f"SELECT round(null_percentage / 2) * 2 AS null_percentage, "
                         f"round(distinct_percentage / 2) * 2 AS distinct_percentage, count(*) AS columns, "
                         f"avg(quality_score) AS quality_score FROM ({base}) GROUP BY ALL", *params)
        st.caption(f"{totals['columns']:,} columns, grouped in cells of 2 points")
        chart = alt.Chart(cells.to_pandas()).mark_circle(opacity=0.8).encode(
            **axes, color=color, size=alt.Size("columns:Q", legend=None),
            tooltip=["null_percentage", "distinct_percentage", "columns",
                     alt.Tooltip("quality_score:Q", format=".1f")])
    st.altair_chart(chart.properties(height=260).interactive(), width="stretch")

st.markdown("**Worst columns and why they lost points**")
worst = ui.query(
    f"""SELECT table_name, column_name, data_type, quality_score, null_percentage, distinct_percentage,
           concat_ws('; ',
             CASE WHEN null_count > 0 THEN printf('%.1f%% null', null_percentage) END,
             CASE WHEN total_count > 0 AND distinct_count = 1 THEN 'a single value' END,
             CASE WHEN total_count > 0 AND null_count = total_count THEN 'all values missing' END,
             CASE WHEN total_count = 0 THEN 'empty table' END) AS why
        FROM ({base}) ORDER BY quality_score NULLS LAST, null_percentage DESC LIMIT 25""", *params)
reason_cols = [c for c in ui.columns_of("column_quality_metrics")
               if c in ("score_explanation", "score_reasons")]
if reason_cols:
    # the profiler explains its own score: show that instead of what the metrics alone suggest
    detail = ui.query(f"SELECT c.table_name, c.column_name, m.{reason_cols[0]}::VARCHAR AS detail "
                      f"FROM column_quality_metrics m JOIN ({base}) c USING (qualified_name) WHERE m.run_id = ?",
                      *params, run)
    worst = worst.join(detail, on=["table_name", "column_name"], how="left").with_columns(
        pl.coalesce(pl.col("detail").replace("", None), pl.col("why")).alias("why")).drop("detail")
st.dataframe(worst, hide_index=True, width="stretch",
             column_config={"quality_score": st.column_config.ProgressColumn("score", min_value=0, max_value=100,
                                                                            format="%.1f"),
                            "null_percentage": st.column_config.NumberColumn("null %", format="%.1f"),
                            "distinct_percentage": st.column_config.NumberColumn("distinct %", format="%.1f")})

st.markdown("**A column's values**")
cols = ui.query(f"SELECT concat_ws('.', schema_name, table_name, column_name) AS label, qualified_name FROM ({base}) "
                f"ORDER BY quality_score NULLS LAST, label LIMIT 1000", *params)
pick = ui.choose("Column", cols["label"].to_list(), "column")
qn = cols.filter(pl.col("label") == pick)["qualified_name"][0]
t1, t2 = st.columns(2)
with t1:
    top = ui.query("SELECT rank, CASE WHEN masked THEN 'masked value #' || rank ELSE value END AS value, count FROM column_top_values WHERE run_id = ? AND column_qualified_name = ? "
                   "ORDER BY rank LIMIT 50", run, qn)
    if top.height:
        st.altair_chart(charts.top_values(top, "top values"), width="stretch")
    else:
        st.caption("No top values recorded for this column.")
    if ui.has("column_histograms"):
        bins = ui.query("SELECT kind, bin, lower, upper, period, count FROM column_histograms WHERE run_id = ? "
                        "AND column_qualified_name = ? ORDER BY bin LIMIT ?", run, qn, CHART_ROWS)
        if bins.height:
            st.altair_chart(charts.histogram(bins), width="stretch")
with t2:
    history = ui.query(
        "SELECT r.started_at, m.quality_score, m.null_percentage FROM column_quality_metrics m JOIN sync_runs r "
        "USING (run_id) WHERE m.qualified_name = ? ORDER BY r.started_at DESC LIMIT ?", qn, CHART_ROWS)
    if history.height > 1:
        st.altair_chart(alt.Chart(history.to_pandas()).mark_line(point=True).encode(
            x=alt.X("started_at:T", title="quality run", axis=alt.Axis(format="%Y-%m-%d %H:%M")),
            y=alt.Y("quality_score:Q", title="score", scale=alt.Scale(domain=[0, 100])),
            tooltip=["started_at", "quality_score", "null_percentage"]).properties(height=260, title="score over time"),
            width="stretch")
    else:
        st.caption("The score over time appears after the next quality run.")
