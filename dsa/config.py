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
from pydantic import Field, PrivateAttr, ValidationError, field_validator
from yaml._yaml import CParser
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.error import MarkedYAMLError
from yaml.resolver import Resolver

from dsa.connectors import connector_types, get_connector
from dsa.errors import ConfigError, DsaError, NotFound, register_secret, secret_parts
from dsa.options import QualityOptions, SourceOptions, Strict

DEFAULT_CONFIG = "dsa.yaml"
DEFAULT_STORE = ".dsa"

# Telling a catalog URL from a folder must import nothing heavy (it runs before every command).
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(spec: str | os.PathLike | None) -> bool:
    """Is `store:` / `--store` a Postgres URL (rather than a folder)?"""
    return isinstance(spec, str) and spec.lower().startswith(POSTGRES_SCHEMES)


def effective_timeout(source: SourceOptions, quality: QualityOptions) -> float:
    """The time limit of each profiling statement on `source`, in seconds (docs/quality.md, "Time limits").

    The smaller of the source's `timeout_s` and `quality.timeout_s`: a source limited to one
    second is never profiled for five minutes. A `quality.timeout_s` the user set while leaving
    the source's at its default says how long profiling may take, and wins."""
    if "timeout_s" in quality.model_fields_set and "timeout_s" not in source.model_fields_set:
        return quality.timeout_s
    return min(source.timeout_s, quality.timeout_s)


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


class MirrorOptions(Strict):
    dsn: str


class Config(Strict):
    store: str | None = None
    mirror: MirrorOptions | None = None
    sources: dict[str, SourceOptions] = Field(default_factory=dict)
    quality: QualityOptions = Field(default_factory=QualityOptions)
    diff: DiffOptions = Field(default_factory=DiffOptions)
    app: AppOptions = Field(default_factory=AppOptions)
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

    def unavailable(self, name: str, reason: DsaError) -> None:
        """Mark a source unusable for `reason` (raised when it is used, and only then)."""
        self._unavailable[name] = reason

    def source(self, name: str) -> SourceOptions:
        try:
            options = self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none configured"
            raise NotFound(f"unknown source '{name}' (known: {known})") from None
        if name in self._unavailable:
            raise self._unavailable[name]
        return options


# A source's name is a word of the catalog (runs, qualified names, URLs of the app), never a path.
MAX_NAME = 128


def check_source_name(name: str) -> None:
    """Refuse names that are empty, padded, too long, hold control characters or path syntax."""
    if not name or not name.strip() or name != name.strip():
        raise ConfigError(f"source name {name[:MAX_NAME]!r}: must not be empty or start or end with spaces")
    if len(name) > MAX_NAME:
        raise ConfigError(f"source name {name[:40]!r}...: longer than {MAX_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ConfigError(f"source name {name!r}: must not hold control characters")
    if name.startswith(("-", ".")) or "/" in name or "\\" in name:
        raise ConfigError(f"source name {name!r}: must not start with '-' or '.', nor hold '/' or '\\'")


def parse_source(name: str, spec: Any) -> SourceOptions:
    """Validate one source's settings (`${ENV}` taken from the environment) with its connector's
    `Options` model."""
    if isinstance(spec, SourceOptions):
        return spec
    check_source_name(name)
    if not isinstance(spec, dict):
        raise ConfigError(f"sources.{name}: must be a mapping with a 'type' key")
    if "type" not in spec:
        raise ConfigError(f"sources.{name}.type: missing (one of {', '.join(connector_types())})")
    connector = get_connector(str(spec["type"]), where=f"sources.{name}.type")
    spec = interpolate(spec, f"sources.{name}")
    register_config_secrets(spec)
    try:
        return connector.Options.model_validate(spec)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, prefix=f"sources.{name}")) from None


def describe_validation(exc: ValidationError, prefix: str = "") -> str:
    """Turn pydantic's report into one line naming every bad key."""
    # an unknown key usually explains a "missing" one (a typo), so it is named first
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    return "; ".join(_describe_error(err, prefix) for err in errors)


def _describe_error(err: dict[str, Any], prefix: str) -> str:
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
    key = ".".join([prefix, *loc] if prefix else loc) or prefix
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "missing":
        return f"{key}: missing"
    msg = err["msg"].removeprefix("Value error, ")
    msg = msg[0].lower() + msg[1:]
    if kind != "value_error" and "input" in err and not isinstance(err["input"], (dict, list)) and "password" not in key:
        got = repr(err["input"])
        msg += f" (got {got if len(got) <= 60 else got[:57] + '...'})"
    return f"{key}: {msg}"


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(ConfigError):
    """A `${NAME}` whose variable is not set: only the source that holds it is unusable."""


def interpolate(value: Any, where: str = "") -> Any:
    """Replace `${NAME}` (or `${NAME:-default}`) in every string with the environment's value."""
    if isinstance(value, dict):
        return {k: interpolate(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    if value.count("${") != len(_ENV.findall(value)):
        raise ConfigError(f"{where}: '${{' starts no ${{NAME}} reference (unterminated, or not a variable name)")

    def env(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise MissingVariable(f"{where}: environment variable {name} is not set")

    return _ENV.sub(env, value)


# -- reading the file, bounded -------------------------------------------------------------
# A config is a few kilobytes. Beyond these bounds a file is a mistake or an attack (an alias
# bomb grows ninefold per level; libyaml's composer recurses on nesting and crashes the process),
# and it is refused in one line, at once, before anything else runs.

MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64  # nested mappings and lists
MAX_NODES = 100_000  # values, counted as if every alias were written out
MAX_VALUE_CHARS = 64 << 10  # one scalar


class _Loader(Composer, CParser, SafeConstructor, Resolver):
    """YAML's safe loader with libyaml's parser, and a composer that counts: nesting depth as it
    goes, and the document's size with aliases expanded before anything is built from it."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise MarkedYAMLError(problem=f"nested more than {MAX_DEPTH} levels deep",
                                      problem_mark=self.peek_event().start_mark)
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Any:
        node = Composer.compose_document(self)
        _check_size(node)
        return node


def _check_size(root: Any) -> None:
    """Count the values of a composed document as if its aliases were written out (each node's
    count is worked out once, so a bomb is measured in a few steps, not expanded)."""
    counts: dict[int, int] = {}
    open_: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in counts:
            continue
        if isinstance(node.value, str):
            if len(node.value) > MAX_VALUE_CHARS:
                raise MarkedYAMLError(problem=f"a value longer than {MAX_VALUE_CHARS // 1024} KiB",
                                      problem_mark=node.start_mark)
            counts[id(node)] = 1
            continue
        children = [c for pair in node.value for c in (pair if isinstance(pair, tuple) else (pair,))]
        if done:
            open_.discard(id(node))
            counts[id(node)] = 1 + sum(counts[id(c)] for c in children)
            if counts[id(node)] > MAX_NODES:
                raise MarkedYAMLError(problem=f"more than {MAX_NODES:,} values once its aliases are expanded",
                                      problem_mark=node.start_mark)
            continue
        if id(node) in open_:
            raise MarkedYAMLError(problem="an alias refers to the value that holds it", problem_mark=node.start_mark)
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in counts)


def read_yaml(text: str, where: str) -> Any:
    """Parse YAML text within the bounds above; a problem is a `ConfigError` naming `where`."""
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_FILE_BYTES >> 20} MiB (a config is a few kilobytes)")
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{where}: {exc.problem or 'not valid YAML'}{at}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{where}: not valid YAML") from None
    finally:
        loader.dispose()


def load_config(path: str | os.PathLike | None = None, *, required: bool = False) -> Config:
    """Read and validate a config file. A missing default file gives an empty config."""
    explicit = path is not None or "DSA_CONFIG" in os.environ
    path = Path(path or os.environ.get("DSA_CONFIG") or DEFAULT_CONFIG)
    if not path.exists():
        if explicit or required:
            raise ConfigError(f"config file {path} not found")
        return Config()
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)  # a device or a huge file is never read whole
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB (a config is a few kilobytes)")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    return parse_config(read_yaml(text, str(path)), path)


def parse_sources(specs: dict[Any, Any]) -> tuple[dict[str, SourceOptions], dict[str, DsaError], list[str]]:
    """Each source's options, the sources whose `${ENV}` is not set (and why), and the problems
    of the others. A source's variables are its own: an unset one makes only that source unusable,
    when it is used, so commands that never open it work."""
    sources: dict[str, SourceOptions] = {}
    unavailable: dict[str, DsaError] = {}
    problems: list[str] = []
    for key, spec in specs.items():
        name = str(key)
        try:
            sources[name] = parse_source(name, spec)
        except MissingVariable as exc:
            register_config_secrets(spec)
            sources[name] = SourceOptions.model_construct(type=str(spec["type"]))
            unavailable[name] = exc
        except ConfigError as exc:
            problems.append(str(exc))
    return sources, unavailable, problems


def parse_config(raw: Any, path: Path | None = None) -> Config:
    """A config from parsed YAML. Every problem is named, in one line."""
    where = f"{path}: " if path else ""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}the top level must be a mapping (store, mirror, sources, quality, diff, app)")
    warn_plaintext(raw, path)
    sources, unavailable, problems = {}, {}, []
    if isinstance(raw.get("sources"), dict):
        sources, unavailable, problems = parse_sources(raw["sources"])
    rest = {k: v for k, v in raw.items() if k != "sources"}
    config = None
    try:
        rest = interpolate(rest)
        register_config_secrets(rest)
        config = Config.model_validate({**rest, "sources": sources if "sources" in raw and
                                        isinstance(raw["sources"], dict) else raw.get("sources"), "path": path})
    except ConfigError as exc:
        problems.append(str(exc))
    except ValidationError as exc:
        problems.append(describe_validation(exc))
    except RecursionError:
        problems.append(f"nested more than {MAX_DEPTH} levels deep")
    if problems or config is None:
        raise ConfigError(where + "; ".join(problems))
    for name, reason in unavailable.items():
        config.unavailable(name, reason)
    return config


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
            fix = "use ${ENV}" + (f" or `{hint}`" if hint else "")
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
