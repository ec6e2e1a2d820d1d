"""Post-processing of the app's run comparison (`queries/app_changes.sql`): renames and a flat view.

The SQL matches objects by name, so a renamed table or column first shows up as one removal plus
one addition. `detect_renames` pairs them when the shapes match one to one:
- a table: removed and added in the same schema with the same set of (column name, type);
- a column: removed and added in the same (surviving) table with the same type and position.
Each pair becomes one `renamed` row whose change names the old and new name. Only added and
removed rows are looked at, so this stays cheap whatever the catalog's size.
"""

from __future__ import annotations

import polars as pl

RENAME_LIMIT = 20_000  # beyond this many additions/removals, pairing is not worth the time


def _signature(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by("schema_name", "table_name").agg(
        pl.concat_str([pl.col("column_name"), pl.col("data_type").fill_null("")], separator="\x1f")
        .sort().str.join("\x1e").alias("sig"))


def detect_renames(changes: pl.DataFrame) -> pl.DataFrame:
    moved = changes.filter(pl.col("change_type").is_in(["added", "removed"]))
    if moved.height == 0 or moved.height > RENAME_LIMIT:
        return changes
    cols = moved.filter(pl.col("entity_type") == "column")
    tabs = moved.filter(pl.col("entity_type") == "table")
    drop: list[tuple] = []  # (entity_type, schema, table, column, change_type) rows replaced by renames
    renamed: list[dict] = []

    removed_t = tabs.filter(pl.col("change_type") == "removed").join(
        _signature(cols.filter(pl.col("change_type") == "removed")), on=["schema_name", "table_name"], how="left")
    added_t = tabs.filter(pl.col("change_type") == "added").join(
        _signature(cols.filter(pl.col("change_type") == "added")), on=["schema_name", "table_name"], how="left")
    pairs = removed_t.join(added_t, on=["schema_name", "sig"], suffix="_new")
    pairs = pairs.filter(pl.col("sig").is_not_null()
                         & (pl.len().over(["schema_name", "sig"]) == 1))  # one to one only
    renamed_tables = set()
    for r in pairs.iter_rows(named=True):
        old, new = r["table_name"], r["table_name_new"]
        renamed_tables |= {(r["schema_name"], old), (r["schema_name"], new)}
        drop += [("table", r["schema_name"], old, None, "removed"), ("table", r["schema_name"], new, None, "added")]
        renamed.append({"entity_type": "table", "schema_name": r["schema_name"], "table_name": new,
                        "change_type": "renamed", "changes": [{"attribute": "name", "old": old, "new": new}]})

    # columns of renamed tables went with their table; the rest may be column renames
    cols = cols.filter(~pl.struct("schema_name", "table_name").map_elements(
        lambda s: (s["schema_name"], s["table_name"]) in renamed_tables, return_dtype=pl.Boolean)) \
        if renamed_tables else cols
    gone_tables = {(r["schema_name"], r["table_name"]) for r in tabs.iter_rows(named=True)}
    key = ["schema_name", "table_name", "data_type", "position"]
    rem = cols.filter(pl.col("change_type") == "removed")
    add = cols.filter(pl.col("change_type") == "added")
    cpairs = rem.join(add, on=key, suffix="_new", nulls_equal=True)
    cpairs = cpairs.filter(pl.len().over(key) == 1)
    for r in cpairs.iter_rows(named=True):
        if (r["schema_name"], r["table_name"]) in gone_tables:
            continue
        old, new = r["column_name"], r["column_name_new"]
        drop += [("column", r["schema_name"], r["table_name"], old, "removed"),
                 ("column", r["schema_name"], r["table_name"], new, "added")]
        renamed.append({"entity_type": "column", "schema_name": r["schema_name"], "table_name": r["table_name"],
                        "column_name": new, "data_type": r["data_type"], "position": r["position"],
                        "change_type": "renamed", "changes": [{"attribute": "name", "old": old, "new": new}]})
    for s, t in renamed_tables:
        drop += [("column", s, t, c, k) for c, k in
                 cols_of(moved, s, t)]
    if not renamed:
        return changes
    gone = pl.DataFrame(drop, schema=["entity_type", "schema_name", "table_name", "column_name", "change_type"],
                        orient="row")
    kept = changes.join(gone, on=gone.columns, how="anti", nulls_equal=True)
    return pl.concat([kept, pl.DataFrame(renamed, schema=changes.schema)], how="vertical")


def cols_of(moved: pl.DataFrame, schema: str | None, table: str) -> list[tuple]:
    rows = moved.filter((pl.col("entity_type") == "column") & (pl.col("schema_name").eq_missing(schema))
                        & (pl.col("table_name") == table))
    return list(zip(rows["column_name"], rows["change_type"]))


def flatten(changes: pl.DataFrame) -> pl.DataFrame:
    """One row per changed attribute: entity_type, object, change_type, attribute, from, to."""
    obj = pl.concat_str([pl.col("schema_name"), pl.col("table_name"), pl.col("column_name")],
                        separator=".", ignore_nulls=True).alias("object")
    rows = changes.filter(pl.col("change_type") != "unchanged").select("entity_type", obj, "change_type", "changes")
    with_attrs = (rows.filter(pl.col("changes").list.len() > 0)
                  .explode("changes")
                  .with_columns(pl.col("changes").struct.field("attribute").alias("attribute"),
                                pl.col("changes").struct.field("old").alias("from"),
                                pl.col("changes").struct.field("new").alias("to"))
                  .drop("changes"))
    plain = rows.filter(pl.col("changes").list.len() == 0).drop("changes").with_columns(
        pl.lit(None, pl.Utf8).alias("attribute"), pl.lit(None, pl.Utf8).alias("from"), pl.lit(None, pl.Utf8).alias("to"))
    out = pl.concat([with_attrs, plain], how="vertical")
    order = {"schema": 0, "table": 1, "column": 2}
    return out.sort(pl.col("entity_type").replace_strict(order, default=3), "object", "attribute")
