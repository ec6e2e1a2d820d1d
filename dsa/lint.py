"""Schema insights: what is wrong with a schema, from a scan joined with its latest profile.

Each rule is a small declared entry of `RULES`: its id, why it matters, and a function from the
scan's facts (`Facts`: tables, columns, the newest profile of the connection) to findings. A
finding names the object, the rule, a one-line message and its evidence. Rules named in the
config's `lint: {disable: [...]}` are not run. The one rule that asks the engine is `implied_fk`:
the orphan rate of each column that looks like an undeclared foreign key is measured in the
source by one anti-join query built with sqlglot (`measure=False` skips it).

`lint(catalog, config, source)` is the entry point for the CLI, the app and the report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

import orjson
import polars as pl
from sqlglot import exp
from sqlglot.dialects import Dialect

from dsa import queries
from dsa.catalog import latest_run
from dsa.connectors import find_connector, open_source
from dsa.errors import ConfigError, DsaError
from dsa.names import qualified_name, split_name

if TYPE_CHECKING:
    from dsa.catalog import Catalog
    from dsa.config import Config
    from dsa.connectors.base import Connector

KEYED = ("table", "partitioned_table")  # relations that can have keys and indexes
EMPTY_SHARE = 0.5  # `empty_strings`: at least this share of a NOT NULL text column's values are ''
ORPHAN_BATCH = 100  # implied foreign keys measured per query


@dataclass
class Finding:
    rule: str
    qualified_name: str
    object_type: str  # table | column | index | foreign_key
    message: str
    why: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Facts:
    """What the rules read: one scan run's tables and columns, the connection's newest profile."""

    connection: str
    dialect: str
    tables: pl.DataFrame  # normalized_tables rows
    columns: pl.DataFrame  # normalized_columns rows
    profile: pl.DataFrame  # column_quality_metrics rows of the newest quality run (may be empty)
    foreign_keys_indexed: bool  # the engine indexes foreign keys itself (Connector.FOREIGN_KEYS_INDEXED)
    measure: Callable[[list[tuple[tuple[str, str, str], tuple[str, str, str]]]], list[tuple[int, int] | None]] | None
    keyed: list[dict[str, Any]] | None = None  # _keyed_tables, decoded once


@dataclass(frozen=True)
class Rule:
    id: str
    why: str
    check: Callable[[Facts], Iterable[Finding]]


# -- the rules ---------------------------------------------------------------------------------


def _keyed_tables(facts: Facts) -> list[dict[str, Any]]:
    """Tables that can have keys, as dicts with `pk` (list) and `custom` (dict) decoded once."""
    if facts.keyed is None:
        keyed = facts.tables.filter(pl.col("table_type").is_in(KEYED))
        facts.keyed = [{**row, "pk": orjson.loads(row["primary_key"] or "[]"),
                        "custom": orjson.loads(row["custom_attributes"] or "{}")}
                       for row in keyed.iter_rows(named=True)]
    return facts.keyed


def no_primary_key(facts: Facts) -> Iterable[Finding]:
    for t in _keyed_tables(facts):
        if not t["pk"]:
            unique = [u["columns"] for u in t["custom"].get("unique_constraints", [])]
            yield Finding("no_primary_key", t["qualified_name"], "table",
                          f"table {t['qualified_name']} has no primary key",
                          evidence={"unique_constraints": unique, "row_estimate": t["row_estimate"]})


def _covered(columns: list[str], t: dict[str, Any]) -> str | None:
    """The index (or key) whose leading columns are `columns`, if any."""
    for index in t["custom"].get("indexes", []):
        if index.get("columns", [])[:len(columns)] == columns:
            return index.get("name") or "index"
    if t["pk"][:len(columns)] == columns:
        return "primary key"
    for unique in t["custom"].get("unique_constraints", []):
        if unique.get("columns", [])[:len(columns)] == columns:
            return unique.get("name") or "unique constraint"
    return None


def fk_without_index(facts: Facts) -> Iterable[Finding]:
    if facts.foreign_keys_indexed:
        return
    for t in _keyed_tables(facts):
        for fk in t["custom"].get("foreign_keys", []):
            columns = fk.get("columns") or []
            if columns and _covered(columns, t) is None:
                yield Finding("fk_without_index", qualified_name(facts.connection, t["schema_name"], t["table_name"],
                                                                 *columns[:1]), "foreign_key",
                              f"foreign key {fk.get('name') or ''} ({', '.join(columns)}) of {t['qualified_name']} "
                              f"has no index starting with its columns",
                              evidence={"foreign_key": fk.get("name"), "columns": columns,
                                        "references": fk.get("ref_qualified_name")})


def redundant_index(facts: Facts) -> Iterable[Finding]:
    for t in _keyed_tables(facts):
        indexes = [i for i in t["custom"].get("indexes", []) if i.get("columns") and not i.get("predicate")]
        for i, index in enumerate(indexes):
            for j, other in enumerate(indexes):
                if i == j:
                    continue
                a, b = index["columns"], other["columns"]
                duplicate = a == b and i > j  # report the second of two equal ones
                prefix = len(a) < len(b) and b[:len(a)] == a and not index.get("unique")
                if duplicate or prefix:
                    how = "duplicates" if duplicate else "is a prefix of"
                    yield Finding("redundant_index", t["qualified_name"], "index",
                                  f"index {index.get('name')} ({', '.join(a)}) on {t['qualified_name']} {how} "
                                  f"index {other.get('name')} ({', '.join(b)})",
                                  evidence={"index": index.get("name"), "columns": a, "covered_by": other.get("name"),
                                            "covered_by_columns": b})
                    break


def implied_fk(facts: Facts) -> Iterable[Finding]:
    """`customer_id` in a table, `customers.id` (or `customer.customer_id`) a single-column
    primary key in the same schema, of the same type family, no foreign key declared on it."""
    keys = []
    for t in _keyed_tables(facts):
        pk = t["pk"]
        if len(pk) == 1:
            keys.append({"schema_name": t["schema_name"], "target": t["table_name"].lower(),
                         "ref_table": t["table_name"], "ref_column": pk[0]})
    if not keys:
        return
    keyed = pl.DataFrame([{"schema_name": k["schema_name"], "table_name": k["ref_table"]} for k in keys])
    families = facts.columns.select("schema_name", pl.col("table_name").alias("ref_table"),
                                    pl.col("column_name").alias("ref_column"), pl.col("type_family").alias("ref_family"))
    stem = pl.col("stem")
    found = (
        facts.columns.filter(pl.col("foreign_key").is_null() & ~pl.col("is_primary_key").fill_null(False))
        .join(keyed, on=["schema_name", "table_name"], how="semi")  # a view cannot declare a key
        .with_columns(stem=pl.col("column_name").str.to_lowercase().str.extract(r"^(.+?)_?id$", 1)
                      .str.strip_chars_end("_"))
        .filter(stem.is_not_null() & (stem != ""))
        # the table names such a column may point to: customer, customers, customeres, customies
        .with_columns(target=pl.concat_list(stem, stem + "s", stem + "es",
                                            stem.str.head(-1) + "ies").list.unique(maintain_order=True))
        .with_row_index("order").explode("target")
        .join(pl.DataFrame(keys), on=["schema_name", "target"], how="inner")
        .filter((pl.col("ref_table") != pl.col("table_name"))
                & pl.col("ref_column").str.to_lowercase().is_in(["id"]).or_(
                    pl.col("ref_column").str.to_lowercase() == stem + "_id",
                    pl.col("ref_column").str.to_lowercase() == stem + "id"))
        .join(families, on=["schema_name", "ref_table", "ref_column"], how="inner")
        .filter(pl.col("ref_family") == pl.col("type_family"))
        .sort("order").unique("order", keep="first", maintain_order=True)
    )
    candidates = [((s, t, c), (s, rt, rc)) for s, t, c, rt, rc in found.select(
        "schema_name", "table_name", "column_name", "ref_table", "ref_column").iter_rows()]
    measured = facts.measure(candidates) if facts.measure and candidates else [None] * len(candidates)
    for (child, parent), counts in zip(candidates, measured):
        child_qn, parent_qn = qualified_name(facts.connection, *child), qualified_name(facts.connection, *parent)
        evidence: dict[str, Any] = {"references": parent_qn}
        if counts is None:
            rate = "orphan rate not measured"
        else:
            checked, orphans = counts
            share = round(100.0 * orphans / checked, 2) if checked else 0.0
            evidence.update(checked_rows=checked, orphan_rows=orphans, orphan_percentage=share)
            rate = f"{orphans} of {checked} non-null values ({share:g}%) have no match"
        yield Finding("implied_fk", child_qn, "column",
                      f"column {child_qn} looks like a foreign key to {parent_qn} but none is declared ({rate})",
                      evidence=evidence)


def fk_type_mismatch(facts: Facts) -> Iterable[Finding]:
    types = dict(zip(facts.columns["qualified_name"].to_list(), facts.columns["data_type"].to_list()))
    for c in facts.columns.filter(pl.col("foreign_key").is_not_null()).iter_rows(named=True):
        referenced = types.get(c["foreign_key"])
        if referenced is not None and (c["data_type"] or "").lower() != referenced.lower():
            yield Finding("fk_type_mismatch", c["qualified_name"], "column",
                          f"column {c['qualified_name']} ({c['data_type']}) references {c['foreign_key']} ({referenced})",
                          evidence={"data_type": c["data_type"], "references": c["foreign_key"],
                                    "referenced_type": referenced})


def _profiled(facts: Facts) -> pl.DataFrame:
    """Profiled columns of the scan, with their scan facts (nullability, type family)."""
    return facts.profile.filter(pl.col("total_count") > 0).join(
        facts.columns.select("table_qualified_name", "column_name", "qualified_name", "is_nullable", "is_primary_key",
                             pl.col("type_family").alias("family")),
        on=["table_qualified_name", "column_name"], how="inner")


def never_null(facts: Facts) -> Iterable[Finding]:
    for c in _profiled(facts).filter(pl.col("is_nullable") & (pl.col("null_count") == 0)).iter_rows(named=True):
        yield Finding("never_null", c["qualified_name"], "column",
                      f"column {c['qualified_name']} is nullable but none of its {c['total_count']} "
                      f"{'sampled ' if c['approximate'] else ''}rows is NULL",
                      evidence={"rows": c["total_count"], "null_count": 0, "approximate": c["approximate"],
                                "quality_run": c["run_id"]})


def empty_strings(facts: Facts) -> Iterable[Finding]:
    full = _profiled(facts).filter(~pl.col("is_nullable") & (pl.col("family") == "string") & pl.col("empty_count").is_not_null()
                           & (pl.col("empty_count") >= EMPTY_SHARE * pl.col("total_count")))
    for c in full.iter_rows(named=True):
        share = round(100.0 * c["empty_count"] / c["total_count"], 2)
        yield Finding("empty_strings", c["qualified_name"], "column",
                      f"column {c['qualified_name']} is NOT NULL but {c['empty_count']} of its {c['total_count']} "
                      f"values ({share:g}%) are empty strings",
                      evidence={"rows": c["total_count"], "empty_count": c["empty_count"], "empty_percentage": share,
                                "quality_run": c["run_id"]})


def all_null(facts: Facts) -> Iterable[Finding]:
    for c in _profiled(facts).filter(pl.col("null_count") == pl.col("total_count")).iter_rows(named=True):
        yield Finding("all_null", c["qualified_name"], "column",
                      f"column {c['qualified_name']} is NULL in all {c['total_count']} rows: unused?",
                      evidence={"rows": c["total_count"], "null_count": c["null_count"], "quality_run": c["run_id"]})


def reserved_words(dialect: str) -> frozenset[str]:
    """The dialect's reserved words (sqlglot's generator list; dialects without one take
    DuckDB's, which is Postgres's grammar's), plus what its tokenizer reads as a statement word."""
    words = Dialect.get_or_raise(dialect).generator_class.RESERVED_KEYWORDS or \
        Dialect.get_or_raise("duckdb").generator_class.RESERVED_KEYWORDS
    return frozenset(w.lower() for w in words)


def needs_quoting(facts: Facts) -> Iterable[Finding]:
    reserved = list(reserved_words(facts.dialect))
    names = pl.concat([
        facts.tables.select("qualified_name", pl.lit("table").alias("kind"), pl.col("table_name").alias("name")),
        facts.columns.select("qualified_name", pl.lit("column").alias("kind"), pl.col("column_name").alias("name"))])
    lowered = pl.col("name").str.to_lowercase()
    reason = (pl.when(lowered.is_in(reserved)).then(pl.lit(f"a reserved word in {facts.dialect}"))
              .when(~lowered.str.contains(r"^[a-z_][a-z0-9_]*$")).then(pl.lit("characters other than letters, digits and _"))
              .when(pl.col("name") != lowered).then(pl.lit("mixed or upper case")))
    for qn, kind, name, why in names.with_columns(reason=reason).filter(pl.col("reason").is_not_null()).iter_rows():
        yield Finding("needs_quoting", qn, kind, f"{kind} name {name!r} must be quoted in SQL: {why}",
                      evidence={"name": name, "reason": why})


RULES: tuple[Rule, ...] = (
    Rule("no_primary_key", "rows cannot be told apart or referenced; replication and updates by key need one",
         no_primary_key),
    Rule("fk_without_index", "joins on the key and deletes of the referenced rows scan the whole table",
         fk_without_index),
    Rule("implied_fk", "an undeclared relationship: nothing stops orphans, and tools cannot see the join",
         implied_fk),
    Rule("redundant_index", "an index another one already serves: slower writes and more storage for nothing",
         redundant_index),
    Rule("never_null", "a column that never holds NULL could say so (NOT NULL) and be trusted to",
         never_null),
    Rule("empty_strings", "NOT NULL kept by writing '' instead of NULL: missing values hidden as text",
         empty_strings),
    Rule("all_null", "a column with no values at all: unused, or a broken load", all_null),
    Rule("fk_type_mismatch", "a key and its reference of different types: casts on every join, values that "
         "fit one side only", fk_type_mismatch),
    Rule("needs_quoting", "every query must quote the name exactly, or it means another name or a syntax error",
         needs_quoting),
)
RULE_IDS = tuple(r.id for r in RULES)


def rules(disabled: Iterable[str] = ()) -> list[Rule]:
    """The rules to run; an unknown id in `disabled` is a `ConfigError` naming it."""
    disabled = list(disabled)
    for rule_id in disabled:
        if rule_id not in RULE_IDS:
            raise ConfigError(f"lint.disable: unknown rule {rule_id!r} (rules: {', '.join(RULE_IDS)})")
    return [r for r in RULES if r.id not in disabled]


# -- facts from the catalog, orphan rates from the engine --------------------------------------------


def facts(catalog: Catalog, connection: str, run_id: str, connector: type[Connector] | None,
          measure=None, quality_run: str | None = None, con=None) -> Facts:
    """The scan's facts; the profile is `quality_run`'s, or the connection's newest. `con`: a
    DuckDB connection that has the catalog tables the queries read (default: the catalog's)."""
    profile_query = ("profile_run", quality_run) if quality_run else ("profile", connection)
    own = con is None
    con = catalog.connect() if own else con  # one catalog connection for the three reads
    try:
        tables, columns, profile = (con.sql(queries.text(f"lint/{name}"), params=[param]).pl() for name, param in (
            ("tables", run_id), ("columns", run_id), profile_query))
    finally:
        if own:
            con.close()
    dialect = connector.dialect if connector else "duckdb"
    indexed = connector.FOREIGN_KEYS_INDEXED if connector else False
    return Facts(connection, dialect, tables, columns, profile, indexed, measure)


def orphan_query(connector, pairs: list[tuple[tuple[str, str, str], tuple[str, str, str]]]) -> str:
    """One query: for each (child column, parent key) pair, the child's non-null values and those
    with no parent row (a LEFT JOIN anti-join), as rows of (pair number, checked, orphans)."""
    selects = []
    for n, ((cs, ct, cc), (ps, pt, pc)) in enumerate(pairs):
        child, parent = exp.column(cc, "c", quoted=True), exp.column(pc, "p", quoted=True)
        orphan = exp.Case(ifs=[exp.If(this=exp.Is(this=parent.copy(), expression=exp.Null()),
                                      true=exp.Literal.number(1))], default=exp.Literal.number(0))
        selects.append(
            exp.select(exp.Literal.number(n).as_("pair"), exp.func("count", child.copy()).as_("checked"),
                       exp.func("coalesce", exp.Sum(this=orphan), exp.Literal.number(0)).as_("orphans"))
            .from_(connector.profile_relation(cs, ct).as_("c"))
            .join(connector.profile_relation(ps, pt).as_("p"), on=exp.EQ(this=child.copy(), expression=parent.copy()),
                  join_type="left")
            .where(exp.Not(this=exp.Is(this=child.copy(), expression=exp.Null()))))
    query = selects[0]
    for select in selects[1:]:
        query = exp.union(query, select, distinct=False)
    return query.sql(dialect=connector.dialect)


def orphan_counter(config: Config, source: str):
    """`measure` for `Facts`: counts in the source, ORPHAN_BATCH pairs a query; a source that
    cannot be reached leaves the counts unknown (the findings say so), never fails the lint."""
    def measure(pairs):
        try:
            connector = open_source(source, config.source(source))
            conn = connector.connect()
        except DsaError:
            return [None] * len(pairs)
        out: list[tuple[int, int] | None] = []
        try:
            for start in range(0, len(pairs), ORPHAN_BATCH):
                batch = pairs[start:start + ORPHAN_BATCH]
                counts: dict[int, tuple[int, int]] = {}
                try:
                    cur = conn.cursor()
                    cur.execute(orphan_query(connector, batch))
                    counts = {int(n): (int(c), int(o)) for n, c, o in cur.fetchall()}
                except Exception:  # a table gone or unreadable since the scan: unknown, not fatal
                    pass
                out.extend(counts.get(i) for i in range(len(batch)))
        finally:
            conn.close()
        return out
    return measure


def lint(catalog: Catalog, config: Config, source: str, run_id: str | None = None,
         measure: bool = True, quality_run: str | None = None, con=None) -> list[Finding]:
    """Findings for a source's newest successful scan (or `run_id`), sorted by rule then name;
    the profile rules read `quality_run` (default: the connection's newest quality run); `con`
    as for `facts`."""
    run_id = run_id or latest_run(catalog, "scan", source)
    manifest = catalog.run(run_id)
    connector = find_connector((manifest.get("details") or {}).get("source_type") or "")
    counter = orphan_counter(config, source) if measure and source in config.sources else None
    found = facts(catalog, manifest["connection"], run_id, connector, counter, quality_run, con)
    out: list[Finding] = []
    for rule in rules(config.lint.disable):
        for finding in rule.check(found):
            finding.why = rule.why
            out.append(finding)
    order = {r: i for i, r in enumerate(RULE_IDS)}
    return sorted(out, key=lambda f: (order[f.rule], f.qualified_name))


def findings_frame(findings: list[Finding]) -> pl.DataFrame:
    """Findings as a frame (evidence as JSON text): what pages and reports draw."""
    schema = {"rule": pl.Utf8, "qualified_name": pl.Utf8, "object_type": pl.Utf8, "message": pl.Utf8,
              "why": pl.Utf8, "evidence": pl.Utf8}
    rows = [{**f.to_dict(), "evidence": json.dumps(f.evidence, default=str)} for f in findings]
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def table_of(finding: Finding) -> str:
    """The table a finding is about (a column's or foreign key's table)."""
    parts = split_name(finding.qualified_name)
    return qualified_name(*parts[:3]) if finding.object_type in ("column", "foreign_key") else finding.qualified_name


def summary(findings: list[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    return ", ".join(f"{n} {r}" for r, n in counts.items()) or "no findings"

