"""The settings every source has, whatever its engine: the base of each connector's `Options`.

Kept apart from `dsa.config` (which reads the file and looks each source's type up in the
connector registry) so that connectors and the config both build on it without importing each other.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dsa.errors import scrub

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
