"""The `dsa.yaml` config: validated, `${ENV}` interpolated, errors that name the key.

Each source is validated by its connector's own `Options` model, so a new connector brings its
keys with it. Unknown keys and wrong types are `ConfigError`s naming `sources.<name>.<key>`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from dsa.errors import ConfigError, DsaError, register_secret, secret_parts

DEFAULT_CONFIG = "dsa.yaml"
DEFAULT_STORE = ".dsa"

# Telling a catalog URL from a folder must import nothing heavy (it runs before every command).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(spec: str | os.PathLike | None) -> bool:
    """Is `store:` / `--store` a Postgres URL (rather than a folder)?"""
    return isinstance(spec, str) and spec.lower().startswith(POSTGRES_SCHEMES)


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
        from dsa.errors import scrub

        for key, value in super().__repr_args__():
            if key and "password" in key and value:
                yield key, "***"
            elif isinstance(value, str):
                yield key, scrub(value)
            else:
                yield key, value


class MaskOptions(Strict):
    """Columns whose values (top values, min, max) are never stored."""

    auto: bool = True  # names that look sensitive: password, ssn, email, token, ...
    columns: list[str] = []  # globs over `table.column` or `schema.table.column`


class QualityOptions(Strict):
    sample: str | int | None = None  # "10%" or a row count; default: full below 1,000,000 rows
    top_k: int = Field(default=10, ge=0, le=1000)
    timeout_s: float = Field(default=300, gt=0)
    workers: int = Field(default=2, ge=1, le=64)
    # DuckDB runs inside dsa's process: its memory is capped per profiling connection (it spills to disk beyond);
    # at 224 MB the whole process peaks at ~380 MB on lineitem SF1 (288 MB: ~440 MB, no clear gain in time)
    duckdb_memory_limit_mb: int = Field(default=224, ge=64)
    # Postgres: work_mem of the profiling session, so the per-column groupings hash in memory (server side)
    postgres_work_mem_mb: int = Field(default=256, ge=4)
    mask: MaskOptions = Field(default_factory=MaskOptions)


class DriftThresholds(Strict):
    """How far a quality metric must move between two scans' quality runs to count as drift."""

    row_count_pct: float = Field(default=10, gt=0, description="relative change of a table's row count, percent")
    null_percentage_points: float = Field(default=5, gt=0, description="absolute change of a column's null %")
    distinct_count_pct: float = Field(default=10, gt=0, description="relative change of a distinct count, percent")
    min_max_pct: float = Field(default=5, gt=0, description="move of a min or max, percent of the older value range")
    quality_score_points: float = Field(default=5, gt=0, description="absolute change of a quality score (0-100)")


class DiffOptions(Strict):
    renames: bool = Field(default=True, description="report same-shape drop+add pairs as renamed")
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)


class AppOptions(Strict):
    """The Streamlit app (`dsa app`)."""

    read_only: bool = False  # hosting: hide and refuse scans and connection edits


class LineageOptions(Strict):
    enabled: bool = Field(default=True, description="derive lineage from view SQL at every scan")


class LintOptions(Strict):
    disable: list[str] = []  # rule ids (dsa.lint.RULES) not to report


class MirrorOptions(Strict):
    dsn: str


class Config(Strict):
    store: str | None = None
    mirror: MirrorOptions | None = None
    sources: dict[str, SourceOptions] = Field(default_factory=dict)
    quality: QualityOptions = Field(default_factory=QualityOptions)
    diff: DiffOptions = Field(default_factory=DiffOptions)
    app: AppOptions = Field(default_factory=AppOptions)
    lineage: LineageOptions = Field(default_factory=LineageOptions)
    lint: LintOptions = Field(default_factory=LintOptions)
    path: Path | None = Field(default=None, exclude=True)
    # sources whose secret could not be decrypted: `source()` raises the reason for that one only
    _unavailable: dict[str, DsaError] = PrivateAttr(default_factory=dict)

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
            options = self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none configured"
            raise NotFound(f"unknown source '{name}' (known: {known})") from None
        if name in self._unavailable:
            raise self._unavailable[name]
        return options


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
        raise ConfigError(f"{where}the top level must be a mapping (store, mirror, sources, quality, diff, app, lineage, lint)")
    warn_plaintext(raw, path)
    try:
        raw = interpolate(raw)
        register_config_secrets(raw)
        return Config.model_validate({**raw, "path": path})
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{where}{describe_validation(exc)}") from None


# -- secrets in the config file ------------------------------------------------------------

SECRET_KEYS = ("password", "dsn")
_warned: set[str] = set()


def _literal_password(key: str, value: Any) -> bool:
    """A password written into the file itself (not taken from `${ENV}`)."""
    if not isinstance(value, str) or not value:
        return False
    if key == "password":
        return bool(_ENV.sub("", value).strip())
    return any("${" not in pw for pw in secret_parts(value))


def warn_plaintext(raw: dict, path: Path | None) -> None:
    """Warn once per source and process about a plaintext password (it still works)."""
    where = path or "the config"
    entries = []
    if isinstance(raw.get("sources"), dict):
        entries += [(f"sources.{n}", spec, f"dsa connections add {n} --password-stdin")
                    for n, spec in raw["sources"].items() if isinstance(spec, dict)]
    if isinstance(raw.get("mirror"), dict):
        entries.append(("mirror", raw["mirror"], None))
    for name, spec, hint in entries:
        keys = [k for k in SECRET_KEYS if _literal_password(k, spec.get(k))]
        if keys and f"{where}:{name}" not in _warned:
            _warned.add(f"{where}:{name}")
            fix = f"use ${{ENV}}" + (f" or `{hint}`" if hint else "")
            sys.stderr.write(f"warning: {where}: {name}.{keys[0]} holds a plaintext password ({fix})\n")
            sys.stderr.flush()


def register_config_secrets(raw: Any) -> None:
    """Passwords the config holds (plaintext or from the environment) are scrubbed from all text."""
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key in SECRET_KEYS and isinstance(value, str):
                if key == "password":
                    register_secret(value)
                for part in secret_parts(value):
                    register_secret(part)
            else:
                register_config_secrets(value)
    elif isinstance(raw, list):
        for value in raw:
            register_config_secrets(value)
