"""Quality: score distribution, completeness and uniqueness per column, the worst columns and
why, top values of a chosen column, and the score over time."""

import altair as alt
import polars as pl
import streamlit as st

from dsa import charts, reports, ui

ui.ensure_navigation()

st.title("Quality")
PER_COLUMN = 2000  # up to this many columns the scatter shows each one
ALL = "all"
LISTED_TABLES = 1000  # with every schema, the Table box lists the tables up to this many

conns = ui.report(reports.connections)["connection"].to_list()
if not conns:
    ui.start_here("Nothing scanned yet: quality runs profile the tables of a scanned connection.")
left, right = st.columns(2)
conn = ui.choose("Connection", conns, "conn", container=left)
qruns = ui.report(reports.quality_runs, conn)
if qruns.height == 0:
    ui.empty(f"No quality run of {ui.md(conn)} yet: profile it on the Runs page, or run {ui.command('quality', conn)}.")
    st.page_link("pages/runs.py", label="Profile it", icon=":material/monitoring:", query_params={"conn": conn})
    st.stop()
labels = {r["run_id"]: ui.run_label(r) for r in qruns.iter_rows(named=True)}
run = ui.choose("Quality run", list(labels), "run", format_func=lambda r: labels[r], container=right)

share_link, share_file = st.columns([4, 1], vertical_alignment="bottom")
with share_file:
    ui.download_report(conn, run=run)

# filters
names = ui.frame(reports.quality_filters, conn)
f1, f2, f3, f4 = st.columns(4)
schema = ui.choose("Schema", [ALL, *names["schema_name"].drop_nulls().unique(maintain_order=True)], "schema",
                   container=f1)
in_schema = names.filter(pl.col("schema_name") == schema) if schema != ALL else names
tables = in_schema["table_name"].unique(maintain_order=True)
if schema == ALL and tables.len() > LISTED_TABLES:
    # too many to scroll through (and to send to the browser on every visit): a schema narrows them
    wanted = st.query_params.get("table")
    table = ui.choose("Table", [ALL, *([wanted] if wanted in set(tables) else [])], "table", container=f2,
                      help=f"{tables.len():,} tables: pick a schema first to choose among its tables")
else:
    table = ui.choose("Table", [ALL, *tables], "table", container=f2)
all_families = names["type_family"].drop_nulls().unique().sort().to_list()
key = ui.url_key("types", lambda raw: [f for f in (raw or "").split(",") if f in all_families])
st.session_state[key] = [f for f in st.session_state[key] if f in all_families]  # another connection's types
families = f3.multiselect("Type", all_families, key=key, placeholder=ALL)
ui.url_store("types", ",".join(families) or None)


def score_range(raw):
    try:
        return tuple(sorted(max(0, min(100, int(v))) for v in (raw or "0-100").split("-", 1)))
    except ValueError:
        return 0, 100


low, high = f4.slider("Score range", 0, 100, key=ui.url_key("score", score_range))
ui.url_store("score", None if (low, high) == (0, 100) else f"{low}-{high}")
where = reports.ColumnFilter(None if schema == ALL else schema, None if table == ALL else table,
                             tuple(families), low, high)
# the run's column profiles are read once; every filter is applied to them in Polars
shown = where.apply(ui.frame(reports.quality_columns, run))

totals = reports.quality_totals(shown)
if not totals["columns"]:
    with share_link:
        ui.copy_link("quality")
    ui.empty("No profiled column matches these filters: widen the score range or pick another type.")
    st.stop()
k = st.columns(3)
quality_tables = ui.frame(reports.quality_tables, run)
ui.score_metric(k[0], reports.quality_score(quality_tables, where.schema, where.table),
                label="Quality score" if table == ALL else "Table score")
k[1].metric("Columns", f"{totals['columns']:,}")
k[2].metric("Mean null %", f"{totals['nulls']:.1f}" if totals["nulls"] is not None else "-")
for line in reports.table_findings(quality_tables, where.schema, where.table):
    st.warning(line, icon=":material/rule:")

# two views of the filtered columns; only the open one is drawn (each switch reruns the page)
SCORES, VALUES = "Scores and worst columns", "A column's values"
view = ui.url_key("view", lambda raw: VALUES if raw == "column" or (raw is None and st.query_params.get("column"))
                  else SCORES)  # a link to a column opens on its values
tab_scores, tab_values = st.tabs([SCORES, VALUES], key=view, on_change="rerun")
ui.url_store("view", "column" if tab_values.open else ("scores" if st.query_params.get("column") else None))
with share_link:
    ui.copy_link("quality")  # after the filters and the view: they are in the URL too
PCT = dict(scale=alt.Scale(domain=[0, 100]))
with tab_scores:
    if tab_scores.open:
        c1, c2 = st.columns(2)
        with c1:
            st.markdown("**Column scores**")
            dist = reports.score_distribution(shown)
            st.altair_chart(charts.score_distribution(dist), width="stretch")
        with c2:
            st.markdown("**Null % and distinct % per column**")
            color = alt.Color("quality_score:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 100]), title="score")
            axes = dict(x=alt.X("null_percentage:Q", title="null %", **PCT),
                        y=alt.Y("distinct_percentage:Q", title="distinct %", **PCT))
            if totals["columns"] <= PER_COLUMN:
                points = reports.null_distinct_points(shown)
                chart = alt.Chart(points.to_pandas()).mark_circle(size=60, opacity=0.7).encode(
                    **axes, color=color,
                    tooltip=[alt.Tooltip("table_name:N", title="table"), alt.Tooltip("column_name:N", title="column"),
                             alt.Tooltip("null_percentage:Q", title="null %", format=".1f"),
                             alt.Tooltip("distinct_percentage:Q", title="distinct %", format=".1f"),
                             alt.Tooltip("quality_score:Q", title="score", format=".1f")])
            else:
                # many columns: one mark per 5 x 5 point cell (at most 441 rows: fewer marks for the browser to draw), sized by its column count
                cells = reports.null_distinct_cells(shown)
                st.caption(f"{totals['columns']:,} columns, grouped in cells of 5 points")
                chart = alt.Chart(cells.to_pandas()).mark_circle(opacity=0.8).encode(
                    **axes, color=color, size=alt.Size("columns:Q", legend=None),
                    tooltip=[alt.Tooltip("null_percentage:Q", title="null %"),
                             alt.Tooltip("distinct_percentage:Q", title="distinct %"),
                             alt.Tooltip("columns:Q", format=","), alt.Tooltip("quality_score:Q", title="score", format=".1f")])
            st.altair_chart(chart.properties(height=260).interactive(), width="stretch")

        st.markdown("**Worst columns and why they lost points**")
        worst = reports.worst_columns(shown)
        # a plain list (it draws with the page's text; the "why" wraps instead of being clipped)
        ui.list_table(worst, {"schema_name": "schema", "table_name": "table", "column_name": "column",
                              "data_type": "type", "quality_score": "score", "null_percentage": "null %",
                              "distinct_percentage": "distinct %", "why": "why it lost points"},
                      {"quality_score": "{:.1f}", "null_percentage": "{:.1f}", "distinct_percentage": "{:.1f}"})
        ui.download(worst, "worst_columns")
with tab_values:
    if tab_values.open:
        choices = reports.column_choices(shown)
        pick = ui.choose("Column", choices["label"].to_list(), "column")
        chosen = choices.filter(pl.col("label") == pick).row(0, named=True)
        qn = chosen["qualified_name"]
        profile = reports.quality_column(shown, chosen["table_qualified_name"], chosen["column_name"])
        t1, t2 = st.columns(2)
        with t1:
            ui.value_charts(ui.report(reports.top_values, run, qn), ui.report(reports.histogram, run, qn), profile)
            skipped = reports.skipped_metrics(profile)
            if skipped.height:
                st.caption("Metrics skipped on this column (the engine refused them):")
                ui.table(skipped, {"metric": st.column_config.TextColumn("metric", width="small"),
                                   "reason": st.column_config.TextColumn("reason", width="large")})
        with t2:
            history = ui.report(reports.column_history, qn)
            if history.height > 1:
                st.altair_chart(charts.column_history(history, ui.anomaly_marks(conn, qn)), width="stretch")
            else:
                st.caption("The score over time appears after the next quality run.")
