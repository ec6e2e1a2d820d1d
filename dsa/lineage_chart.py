"""The lineage graph as an Altair chart (drawn by Vega in the browser: no network needed).

Nodes stand in columns by their distance from the chosen node (upstream to the left,
downstream to the right); each is a link to its Explore page (`explore?conn=…&table=…`).
"""

from __future__ import annotations

from urllib.parse import urlencode

import altair as alt
import polars as pl

from dsa.names import split_name

KIND_COLORS = {"direct": "#1f77b4", "derived": "#9467bd", "filter": "#ff7f0e", "join": "#2ca02c"}


def explore_params(name: str, run_id: str | None = None) -> dict[str, str]:
    """Explore's query parameters for a table or column's qualified name."""
    parts = split_name(name)
    keys = ("conn", "schema", "table", "column")
    params = dict(zip(keys, parts))
    if run_id:
        params["run"] = run_id
    return params


def layout(walked: pl.DataFrame, start: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Positions: (nodes: name, label, x, y, href; edges: x, y, x2, y2, kind) for `walk`'s edges."""
    place: dict[str, int] = {start: 0}
    for row in walked.sort("depth").iter_rows(named=True):
        far = row["upstream"] if row["direction"] == "upstream" else row["downstream"]
        place.setdefault(far, -row["depth"] if row["direction"] == "upstream" else row["depth"])
    rows_at: dict[int, int] = {}
    nodes = []
    for name, x in sorted(place.items(), key=lambda item: (item[1], item[0])):
        y = rows_at.get(x, 0)
        rows_at[x] = y + 1
        parts = split_name(name)
        nodes.append({"name": name, "label": ".".join(parts[2:]) or name, "x": x, "y": y,
                      "start": name == start, "href": "explore?" + urlencode(explore_params(name))})
    at = {n["name"]: (n["x"], n["y"]) for n in nodes}
    edges = [{"x": at[r["upstream"]][0], "y": at[r["upstream"]][1], "x2": at[r["downstream"]][0],
              "y2": at[r["downstream"]][1], "kind": r["kind"], "level": r["level"]}
             for r in walked.unique(["upstream", "downstream"], maintain_order=True).iter_rows(named=True)
             if r["upstream"] in at and r["downstream"] in at]
    edge_schema = {"x": pl.Int64, "y": pl.Int64, "x2": pl.Int64, "y2": pl.Int64, "kind": pl.Utf8, "level": pl.Utf8}
    return pl.DataFrame(nodes), (pl.DataFrame(edges, schema=edge_schema) if edges else pl.DataFrame(schema=edge_schema))


def graph_chart(walked: pl.DataFrame, start: str) -> alt.LayerChart:
    """Edges coloured by kind, nodes as labelled points linking to their Explore view."""
    nodes, edges = layout(walked, start)
    height = max(120, 46 * int(nodes["y"].max() + 1))
    x = alt.X("x:Q", axis=None, scale=alt.Scale(padding=90))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(reverse=True, padding=20))
    color = alt.Color("kind:N", scale=alt.Scale(domain=list(KIND_COLORS), range=list(KIND_COLORS.values())),
                      legend=alt.Legend(title="edge", orient="bottom"))
    lines = alt.Chart(edges.to_pandas()).mark_rule(strokeWidth=2, opacity=0.7).encode(
        x=x, y=y, x2="x2:Q", y2="y2:Q", color=color, tooltip=["kind", "level"])
    base = alt.Chart(nodes.to_pandas())
    points = base.mark_circle(size=160, cursor="pointer").encode(
        x=x, y=y, href="href:N", tooltip=["name"],
        color=alt.condition("datum.start", alt.value("#d62728"), alt.value("#555")))
    labels = base.mark_text(dy=-12, fontSize=11).encode(x=x, y=y, text="label:N", href="href:N")
    return alt.layer(lines, points, labels).properties(height=height)
