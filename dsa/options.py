"""The settings every source has, whatever its engine: the base of each connector's `Options`.

Kept apart from `dsa.config` (which reads the file and looks each source's type up in the
connector registry) so that connectors and the config both build on it without importing each other.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dsa.errors import scrub


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Patterns(Strict):
    """Glob patterns (fnmatch, case-sensitive) for schema and table names."""

    # Plain `[]` defaults, not `default_factory=list`: pydantic copies an unhashable default for
    # each instance all the same, and a builtin factory makes it call inspect.signature(list),
    # whose first use compiles tokenize's regex (~2 ms of every `dsa scan`'s start, see dsa.launch).
    schemas: list[str] = []
    tables: list[str] = []


class SourceOptions(Strict):
    """Keys every source has. Connectors subclass this with their own keys."""

    type: str
    include: Patterns = Field(default_factory=Patterns)
    exclude: Patterns = Field(default_factory=Patterns)
    timeout_s: float = Field(default=300, gt=0, description="statement timeout for every query")
    connect_timeout_s: float = Field(default=10, gt=0)

    def __repr_args__(self):
        # options carry the vault's secret in memory: their repr (logs, tracebacks, f"{options!r}") must not
        for key, value in super().__repr_args__():
            if key and "password" in key and value:
                yield key, "***"
            elif isinstance(value, str):
                yield key, scrub(value)
            else:
                yield key, value
