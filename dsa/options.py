"""The settings connectors read: what every source has (the base of each connector's `Options`)
and how to profile (`quality:`, with the sample it asks for).

Kept apart from `dsa.config` (which reads the file and looks each source's type up in the
connector registry) so that connectors and the config both build on it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from dsa.errors import ConfigError, scrub

# The longest statement timeout a config may ask for (a day): beyond it a number is a mistake
# (`1e309` reads as infinity), and the engines' millisecond settings would overflow.
MAX_TIMEOUT_S = 86_400


class Strict(BaseModel):
    # inf and nan are never a setting: `timeout_s: 1e309` is an error, not an endless wait
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def check_glob(pattern: str) -> str:
    """A glob whose `[` opens a set that never closes matches nothing, silently: refuse it."""
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                raise ValueError(f"{pattern!r} is not a valid glob: '[' at position {i + 1} is never closed "
                                 "(write [[] for a literal '[')")
            i = j
        i += 1
    return pattern


Glob = Annotated[str, Field(max_length=1024), AfterValidator(check_glob)]
# A file or folder path: Linux's PATH_MAX, so a runaway value is a config error, not an OSError
FilePath = Annotated[str, Field(min_length=1, max_length=4096)]
Seconds = Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)]


class Patterns(Strict):
    """Glob patterns (fnmatch, case-sensitive) for schema and table names."""

    # Plain `[]` defaults, not `default_factory=list`: pydantic copies an unhashable default for
    # each instance all the same, and a builtin factory makes it call inspect.signature(list),
    # whose first use compiles tokenize's regex (~2 ms of every `dsa scan`'s start, see dsa.launch).
    schemas: list[Glob] = []
    tables: list[Glob] = []


class SourceOptions(Strict):
    """Keys every source has. Connectors subclass this with their own keys."""

    type: str
    include: Patterns = Field(default_factory=Patterns)
    exclude: Patterns = Field(default_factory=Patterns)
    timeout_s: Seconds = Field(default=300, description="statement timeout for every query")
    connect_timeout_s: Seconds = 10

    def __repr_args__(self):
        # options carry the vault's secret in memory: their repr (logs, tracebacks, f"{options!r}") must not
        for key, value in super().__repr_args__():
            if key and "password" in key and value:
                yield key, "***"
            elif isinstance(value, str):
                yield key, scrub(value)
            else:
                yield key, value


AUTO_SAMPLE_ROWS = 1_000_000  # without --sample: full scan below this many rows, a sample of this size above


@dataclass(frozen=True)
class Sample:
    """What the user asked for: a percentage, a row count, or None (automatic)."""

    percent: float | None = None
    rows: int | None = None

    def describe(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        if self.rows is not None:
            return f"{self.rows} rows"
        return "auto"

    def may_sample(self, row_estimate: int | None) -> bool:
        """Whether the table may be sampled, so its exact row count is worth a statement of its
        own (for 100% the profile counts the rows)."""
        if self.percent is not None:
            return self.percent < 100
        return self.rows is not None or row_estimate is None or row_estimate >= AUTO_SAMPLE_ROWS // 2

    def percent_of(self, row_count: int | None) -> float | None:
        """The percentage of a table of `row_count` rows to profile; None for all of it."""
        if not row_count:
            return None
        if self.percent is not None:
            return self.percent if self.percent < 100 else None
        if self.rows is not None:
            return 100.0 * self.rows / row_count if self.rows < row_count else None
        return 100.0 * AUTO_SAMPLE_ROWS / row_count if row_count > AUTO_SAMPLE_ROWS else None

    def rows_wanted(self) -> int | None:
        """The number of rows asked for (automatic: a million), None for a percentage."""
        if self.rows is not None:
            return self.rows
        return AUTO_SAMPLE_ROWS if self.percent is None else None


def parse_sample(value: str | int | None, where: str = "--sample") -> Sample:
    if value is None or value == "":
        return Sample()
    text = str(value).strip().replace("_", "").replace(",", "")
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not 0 < pct <= 100:
                raise ValueError
            return Sample(percent=pct)
        rows = int(text)
        if rows <= 0:
            raise ValueError
        return Sample(rows=rows)
    except ValueError:
        raise ConfigError(f"{where}: give a percentage like 10% (0-100] or a positive row count (got {value!r})") from None


class MaskOptions(Strict):
    """Columns whose values (top values, min, max) are never stored."""

    auto: bool = True  # names that look sensitive: password, ssn, email, token, ...
    columns: list[str] = []  # globs over `table.column` or `schema.table.column`


class QualityOptions(Strict):
    sample: str | int | None = None  # "10%" or a row count; default: full below 1,000,000 rows
    top_k: int = Field(default=10, ge=0, le=1000)
    timeout_s: Seconds = 300
    workers: int = Field(default=2, ge=1, le=64)
    # DuckDB runs inside dsa's process: its memory is capped per profiling connection (it spills to disk beyond);
    # at 224 MB the whole process peaks at ~380 MB on lineitem SF1 (288 MB: ~440 MB, no clear gain in time)
    duckdb_memory_limit_mb: int = Field(default=224, ge=64)
    # Postgres: work_mem of the profiling session, so the per-column groupings hash in memory (server side)
    postgres_work_mem_mb: int = Field(default=256, ge=4)
    mask: MaskOptions = Field(default_factory=MaskOptions)

    @field_validator("sample")
    @classmethod
    def _sample(cls, value: str | int | None) -> str | int | None:
        parse_sample(value, "quality.sample")  # `200%` is refused by every command, not by `dsa quality` alone
        return value
