"""The check language: `row_count > 0`, `missing_percent(email) < 1`, `values(s) in [a, b]`, ...

A check expression is tokenized and parsed by a small recursive-descent parser into a `Check`:
a `Metric` (what to measure: kind, column, argument) and the `Condition`s that must hold for it
(`fail`: the check fails when false; `warn`: it warns when false and the fail condition holds).
Errors are `ConfigError`s naming the check and the key. This module imports nothing heavy: the
config is validated with it before any engine is touched. The metrics are documented in
docs/checks.md.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from dataclasses import dataclass, field
from typing import Any

from dsa.errors import ConfigError

# metric -> (takes a column, one value per row that can be sampled when the check fails)
COLUMN_METRICS = {
    "missing_count", "missing_percent", "duplicate_count", "duplicate_percent", "duplicate_values",
    "duplicate_rows", "distinct_count", "invalid_count", "invalid_percent", "min", "max", "avg", "sum",
    "freshness", "values", "reference",
}
TABLE_METRICS = {"row_count"}
SCHEMA_CHANGES = {"removed": "removed", "added": "added", "changed": "modified"}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<duration>\d+(?:\.\d+)?[smhdw])(?![\w.])
    | (?P<number>[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(?![\w])
    | (?P<string>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    | (?P<name>[^\W\d]\w*)
    | (?P<op>->|<=|>=|!=|<>|[=<>()\[\],.:])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Condition:
    """What must hold for a value: `op` one of OPERATORS, or `between` / `not between`."""

    op: str
    low: float | date
    high: float | date | None = None

    def holds(self, value: float | date) -> bool:
        if self.op in ("between", "not between"):
            inside = self.low <= value <= self.high
            return inside if self.op == "between" else not inside
        return {
            "<": value < self.low, "<=": value <= self.low, ">": value > self.low, ">=": value >= self.low,
            "=": value == self.low, "!=": value != self.low, "<>": value != self.low,
        }[self.op]

    def text(self) -> str:
        if self.high is not None:
            return f"{self.op} {_num(self.low)} and {_num(self.high)}"
        return f"{self.op} {_num(self.low)}"


@dataclass(frozen=True)
class Metric:
    """What a check measures. `arg`: the regex or value list (invalid_*, values), the referenced
    (table, column) (reference), the query (sql), the change kind (schema)."""

    kind: str
    column: str | None = None
    arg: Any = None
    negate: bool = False  # values(c) not in [...]


@dataclass
class Check:
    name: str
    text: str
    metric: Metric
    fail: Condition | None
    warn: Condition | None = None
    source: str = ""
    table: str = ""  # the table name or glob it applies to
    where: str = ""  # the config path, for messages

    @property
    def thresholds(self) -> dict[str, str | None]:
        return {"fail": self.fail.text() if self.fail else None, "warn": self.warn.text() if self.warn else None}


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    pos: int = 0
    where: str = ""
    text: str = ""

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        i = self.pos + k
        return self.items[i] if i < len(self.items) else None

    def word(self, k: int = 0) -> str | None:
        tok = self.peek(k)
        return tok[1].lower() if tok and tok[0] == "name" else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise self.error("the expression ends early")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.peek()
        if tok is None or tok[1].lower() != value:
            raise self.error(f"expected '{value}'")
        self.pos += 1

    def done(self) -> bool:
        return self.pos >= len(self.items)

    def error(self, message: str) -> ConfigError:
        tok = self.peek()
        at = f" at '{tok[1]}'" if tok else ""
        return ConfigError(f"{self.where}: {message}{at} in {self.text!r}")


def tokenize(text: str, where: str) -> _Tokens:
    items, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConfigError(f"{where}: cannot read {text[pos:pos + 20].strip()!r} in {text!r}")
        items.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return _Tokens(items, where=where, text=text)


def _num(value: float | date) -> str:
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _literal(tok: tuple[str, str]) -> Any:
    kind, value = tok
    if kind == "string":
        return value[1:-1].replace("''", "'")
    if kind == "quoted":
        return value[1:-1].replace(value[0] * 2, value[0])
    if kind == "number":
        number = float(value.replace("_", ""))
        return int(number) if number.is_integer() and "e" not in value.lower() and "." not in value else number
    return value


def _identifier(tokens: _Tokens, what: str) -> str:
    tok = tokens.peek()
    if tok is None or tok[0] not in ("name", "quoted", "string"):
        raise tokens.error(f"expected {what}")
    tokens.pos += 1
    return str(_literal(tok))


def _number(tokens: _Tokens, duration: bool) -> float | date:
    """A number, a duration (in seconds) or a quoted date/timestamp ('2024-01-31')."""
    kind, value = tokens.take()
    if kind == "string" and not duration:
        try:
            moment = datetime.fromisoformat(_literal((kind, value)))
        except ValueError:
            pass
        else:
            return moment.date() if len(value) <= 12 else moment
    if kind == "duration":
        return float(value[:-1]) * UNITS[value[-1]]
    if kind == "number" and not duration:
        return float(value.replace("_", ""))
    tokens.pos -= 1
    raise tokens.error("expected a duration like 1d, 12h, 30m" if duration else "expected a number")


def _condition(tokens: _Tokens, duration: bool = False) -> Condition:
    word = tokens.word()
    if word in ("between", "not"):
        if word == "not":
            tokens.pos += 1
        tokens.expect("between")
        low = _number(tokens, duration)
        tokens.expect("and")
        high = _number(tokens, duration)
        if high < low:
            raise tokens.error("the upper bound is below the lower one")
        return Condition("between" if word == "between" else "not between", low, high)
    tok = tokens.peek()
    if tok is None or tok[1] not in OPERATORS:
        raise tokens.error("expected a comparison (<, <=, >, >=, =, != or between)")
    tokens.pos += 1
    return Condition(tok[1], _number(tokens, duration))


def _values(tokens: _Tokens) -> list[Any]:
    tokens.expect("[")
    out = []
    while True:
        tok = tokens.take()
        if tok[1] == "]" and not out:
            raise tokens.error("the list is empty")
        if tok[0] not in ("name", "quoted", "string", "number"):
            tokens.pos -= 1
            raise tokens.error("expected a value")
        out.append(_literal(tok))
        sep = tokens.take()
        if sep[1] == "]":
            return out
        if sep[1] != ",":
            tokens.pos -= 1
            raise tokens.error("expected ',' or ']'")


def parse_expression(text: str, where: str) -> tuple[Metric, Condition | None]:
    """One check expression: its metric and the condition written with it (None: `= 0` implied)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: must be a check expression like 'row_count > 0'")
    head, _, rest = text.strip().partition(":")
    if head.strip().lower() == "sql" and rest.strip():
        return Metric("sql", arg=rest.strip()), None
    if head.strip().lower() == "schema" and rest.strip():
        words = rest.lower().split()
        if len(words) == 3 and words[0] == "no" and words[1] in SCHEMA_CHANGES and words[2] == "columns":
            return Metric("schema", arg=SCHEMA_CHANGES[words[1]]), None
        raise ConfigError(f"{where}: expected 'schema: no removed|added|changed columns' in {text!r}")
    tokens = tokenize(text, where)
    kind = tokens.word()
    if kind not in COLUMN_METRICS and kind not in TABLE_METRICS:
        known = ", ".join(sorted(COLUMN_METRICS | TABLE_METRICS | {"sql", "schema"}))
        raise tokens.error(f"unknown metric (known: {known})")
    tokens.pos += 1
    column = None
    if kind in COLUMN_METRICS:
        tokens.expect("(")
        column = _identifier(tokens, "a column name")
        tokens.expect(")")
    metric, condition = Metric(kind, column), None
    if kind == "values":
        negate = tokens.word() == "not"
        tokens.pos += negate
        tokens.expect("in")
        metric = Metric(kind, column, tuple(_values(tokens)), negate)
    elif kind == "reference":
        tokens.expect("->")
        parts = [_identifier(tokens, "a table name")]
        while tokens.peek() and tokens.peek()[1] == ".":
            tokens.pos += 1
            parts.append(_identifier(tokens, "a name"))
        if len(parts) < 2:
            raise tokens.error("expected table.column after '->'")
        metric = Metric(kind, column, (".".join(parts[:-1]), parts[-1]))
    else:
        condition = _condition(tokens, duration=kind == "freshness")
        if kind.startswith("invalid_"):
            word = tokens.word()
            if word == "matching":
                tokens.pos += 1
                kind_, pattern = tokens.take()
                if kind_ != "string":
                    tokens.pos -= 1
                    raise tokens.error("expected a quoted pattern like '^[0-9]+$'")
                pattern = _literal((kind_, pattern))
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ConfigError(f"{where}: the pattern {pattern!r} is not a valid regular expression ({exc})") from None
                metric = Metric(kind, column, ("matching", pattern))
            elif word == "between":
                valid = _condition(tokens)
                metric = Metric(kind, column, ("between", (valid.low, valid.high)))
            elif word in ("in", "not"):
                negate = word == "not"
                tokens.pos += 1 + negate
                if negate:
                    tokens.expect("in")
                metric = Metric(kind, column, ("in", tuple(_values(tokens))), negate)
            else:
                raise tokens.error(f"{kind} needs what is valid: matching '<regex>', in [values] or between A and B")
    if not tokens.done():
        raise tokens.error("unexpected text")
    return metric, condition


def parse_condition(text: Any, metric: Metric, where: str) -> Condition:
    """A `warn:`/`fail:` value: a whole expression on the same metric, or only its comparison."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise ConfigError(f"{where}: must be a comparison like '< 5' (got {text!r})")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: must be a comparison like '< 5' or an expression on the check's metric")
    tokens = tokenize(text, where)
    if tokens.word() in COLUMN_METRICS | TABLE_METRICS:
        other, condition = parse_expression(text, where)
        if other.kind != metric.kind or (other.column or "").lower() != (metric.column or "").lower():
            raise ConfigError(f"{where}: measures {other.kind}({other.column or ''}), not the check's "
                              f"{metric.kind}({metric.column or ''})")
        if condition is None:
            raise ConfigError(f"{where}: needs a comparison")
        return condition
    condition = _condition(tokens, duration=metric.kind == "freshness")
    if not tokens.done():
        raise tokens.error("unexpected text")
    return condition


ZERO = Condition("=", 0)
CHECK_KEYS = {"name", "check", "warn", "fail"}


def parse_check(spec: Any, where: str, source: str = "", table: str = "") -> Check:
    """One entry of a `checks:` list: a plain string or a mapping {name, check, warn, fail}."""
    if isinstance(spec, str):
        metric, condition = parse_expression(spec, where)
        return Check(spec.strip(), spec.strip(), metric, condition or ZERO, None, source, table, where)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: must be a check expression or a mapping with name, check, warn, fail")
    written = [k for k in ("sql", "schema") if k in spec]
    if written and "check" not in spec:  # YAML reads `- sql: select ...` as a mapping
        spec = {**{k: v for k, v in spec.items() if k != written[0]}, "check": f"{written[0]}: {spec[written[0]]}"}
    unknown = sorted(set(map(str, spec)) - CHECK_KEYS)
    label = f"{where} ({spec['name']})" if isinstance(spec.get("name"), str) else where
    if unknown:
        raise ConfigError(f"{label}.{unknown[0]}: unknown key (known: check, fail, name, warn)")
    if "check" not in spec:
        raise ConfigError(f"{label}.check: missing")
    text = spec["check"]
    metric, condition = parse_expression(text, f"{label}.check")
    fail = parse_condition(spec["fail"], metric, f"{label}.fail") if "fail" in spec else (condition or ZERO)
    warn = parse_condition(spec["warn"], metric, f"{label}.warn") if "warn" in spec else None
    name = spec.get("name", text)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{label}.name: must be a non-empty text")
    return Check(name.strip(), text.strip(), metric, fail, warn, source, table, where)


@dataclass
class CheckGroup:
    source: str
    table: str
    checks: list[Check] = field(default_factory=list)


GROUP_KEYS = {"source", "table", "checks"}


def parse_groups(raw: Any, where: str = "checks") -> list[CheckGroup]:
    """The `checks:` list: `[{source, table (name or glob), checks: [...]}]`."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: must be a list of {{source, table, checks}} entries")
    groups = []
    for i, entry in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: must be a mapping with source, table, checks")
        unknown = sorted(set(map(str, entry)) - GROUP_KEYS)
        if unknown:
            raise ConfigError(f"{at}.{unknown[0]}: unknown key (known: checks, source, table)")
        for key in ("source", "table"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ConfigError(f"{at}.{key}: " + ("missing" if key not in entry else "must be a name"))
        if not isinstance(entry.get("checks"), list) or not entry["checks"]:
            raise ConfigError(f"{at}.checks: " + ("missing" if "checks" not in entry else "must be a non-empty list"))
        source, table = entry["source"].strip(), entry["table"].strip()
        checks = [parse_check(c, f"{at}.checks[{j}]", source, table) for j, c in enumerate(entry["checks"])]
        names = [c.name for c in checks]
        for j, name in enumerate(names):
            if name in names[:j]:
                raise ConfigError(f"{at}.checks[{j}].name: {name!r} names two checks of this table (give one a name)")
        groups.append(CheckGroup(source, table, checks))
    return groups
