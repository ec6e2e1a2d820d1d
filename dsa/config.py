"""The `dsa.yaml` config: validated, `${ENV}` interpolated, errors that name the key.

Each source is validated by its connector's own `Options` model, so a new connector brings its
keys with it. Unknown keys and wrong types are `ConfigError`s naming `sources.<name>.<key>`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dsa.errors import ConfigError

DEFAULT_CONFIG = "dsa.yaml"
DEFAULT_STORE = ".dsa"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Patterns(Strict):
    """Glob patterns (fnmatch, case-sensitive) for schema and table names."""

    schemas: list[str] = Field(default_factory=list)
    tables: list[str] = Field(default_factory=list)


class SourceOptions(Strict):
    """Keys every source has. Connectors subclass this with their own keys."""

    type: str
    include: Patterns = Field(default_factory=Patterns)
    exclude: Patterns = Field(default_factory=Patterns)
    timeout_s: float = Field(default=300, gt=0, description="statement timeout for every query")
    connect_timeout_s: float = Field(default=10, gt=0)


class MaskOptions(Strict):
    """Columns whose values (top values, min, max) are never stored."""

    auto: bool = True  # names that look sensitive: password, ssn, email, token, ...
    columns: list[str] = Field(default_factory=list)  # globs over `table.column` or `schema.table.column`


class QualityOptions(Strict):
    sample: str | int | None = None  # "10%" or a row count; default: full below 1,000,000 rows
    top_k: int = Field(default=10, ge=0, le=1000)
    timeout_s: float = Field(default=300, gt=0)
    workers: int = Field(default=2, ge=1, le=64)
    # DuckDB runs inside dsa's process: its memory is capped per profiling connection (it spills to disk beyond)
    duckdb_memory_limit_mb: int = Field(default=300, ge=64)
    # Postgres: work_mem of the profiling session, so the per-column groupings hash in memory (server side)
    postgres_work_mem_mb: int = Field(default=256, ge=4)
    mask: MaskOptions = Field(default_factory=MaskOptions)


class AppOptions(Strict):
    """The Streamlit app (`dsa app`)."""

    read_only: bool = False  # hosting: hide and refuse scans and connection edits


class MirrorOptions(Strict):
    dsn: str


class Config(Strict):
    store: str | None = None
    mirror: MirrorOptions | None = None
    sources: dict[str, SourceOptions] = Field(default_factory=dict)
    quality: QualityOptions = Field(default_factory=QualityOptions)
    app: AppOptions = Field(default_factory=AppOptions)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must be a mapping of source name to settings")
        return {name: parse_source(str(name), spec) for name, spec in value.items()}

    def source(self, name: str) -> SourceOptions:
        from dsa.errors import NotFound

        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none configured"
            raise NotFound(f"unknown source '{name}' (known: {known})") from None


def parse_source(name: str, spec: Any) -> SourceOptions:
    """Validate one source's settings with its connector's `Options` model."""
    from dsa.connectors import get_connector

    if isinstance(spec, SourceOptions):
        return spec
    if not isinstance(spec, dict):
        raise ConfigError(f"sources.{name}: must be a mapping with a 'type' key")
    if "type" not in spec:
        raise ConfigError(f"sources.{name}.type: missing (e.g. sqlite, postgres, mysql, duckdb, files)")
    connector = get_connector(str(spec["type"]), where=f"sources.{name}.type")
    try:
        return connector.Options.model_validate(spec)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, prefix=f"sources.{name}")) from None


def describe_validation(exc: ValidationError, prefix: str = "") -> str:
    """Turn pydantic's report into one line naming the first bad key."""
    # an unknown key usually explains a "missing" one (a typo), so name it first
    err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
    key = ".".join([prefix, *loc] if prefix else loc) or prefix
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "missing"
    else:
        msg = err["msg"][0].lower() + err["msg"][1:]
        if "input" in err and not isinstance(err["input"], (dict, list)) and "password" not in key:
            msg += f" (got {err['input']!r})"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{key}: {msg}{more}"


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: Any, where: str = "") -> Any:
    """Replace `${NAME}` (or `${NAME:-default}`) in every string with the environment's value."""
    if isinstance(value, dict):
        return {k: interpolate(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def env(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable {name} is not set")

    return _ENV.sub(env, value)


def load_config(path: str | os.PathLike | None = None, *, required: bool = False) -> Config:
    """Read and validate a config file. A missing default file gives an empty config."""
    explicit = path is not None or "DSA_CONFIG" in os.environ
    path = Path(path or os.environ.get("DSA_CONFIG") or DEFAULT_CONFIG)
    if not path.exists():
        if explicit or required:
            raise ConfigError(f"config file {path} not found")
        return Config()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: {problem}{at}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    return parse_config(raw, path)


def parse_config(raw: Any, path: Path | None = None) -> Config:
    where = f"{path}: " if path else ""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}the top level must be a mapping (store, mirror, sources, quality)")
    try:
        raw = interpolate(raw)
        return Config.model_validate({**raw, "path": path})
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{where}{describe_validation(exc)}") from None
