"""Streamlit helpers shared by the pages: the one place in `dsa` that imports Streamlit.

Pages read the catalog through `query()`, whose results are cached keyed on the catalog's run
list (run ids and statuses), so a new or finished run refreshes what it must and a rerun is
served from cache. Selections live in `st.query_params` through `choose()`, so a copied URL
reopens the same view. Values from the catalog are data: anything put into Markdown goes
through `md()` first.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

import duckdb
import polars as pl
import streamlit as st

from dsa import connections, jobs, queries
from dsa.catalog import Catalog, open_catalog, partial_note
from dsa.compare import detect_renames
from dsa.config import DEFAULT_STORE, Config, load_config, parse_source
from dsa.connectors import open_source
from dsa.errors import ConfigError, DsaError, SourceError, one_line, register_secret
from dsa.escape import md
from dsa.report import default_file_name, report_bytes
from dsa.sources import all_sources
from dsa.store import Store
from dsa.system import is_loopback
from dsa.vault import Vault

START_HINT = "Press **Load the demo** below, or run `dsa demo` (or `dsa scan SOURCE`) in a terminal."


def ensure_navigation() -> None:
    """Every page calls this first. Streamlit starts in its old `pages/`-folder mode because the
    folder exists, and stays there until `st.navigation` has run once in the server: a deep link
    opened before that runs the page file alone, without `streamlit_app.py`. The login gate must
    hold all the same, so a page run alone asks for login itself."""
    frame = sys._getframe(1)
    while frame is not None:
        if Path(frame.f_code.co_filename).name == "streamlit_app.py":
            return  # run through the entry script, which asked already
        frame = frame.f_back
    require_login()


def catalog() -> Catalog:
    """The catalog this app shows: `DSA_STORE` (set by `dsa app`), else the config's `store:`,
    else `./.dsa`; a folder or a postgresql:// URL (`dsa.catalog.open_catalog`). Runs started
    from the app are mirrored when `mirror:` is configured or the catalog is in Postgres."""
    try:
        config = load_config()
    except DsaError:
        config = Config()
    spec = os.environ.get("DSA_STORE") or config.store or DEFAULT_STORE
    # the config without its sources (and their secrets) is the cache key of the open catalog
    return _open(str(spec), config.model_dump_json(exclude={"sources"}))


@st.cache_resource(max_entries=4, show_spinner=False)
def _open(spec: str, config_json: str) -> Catalog:
    return open_catalog(spec, Config.model_validate_json(config_json))


def local_store() -> Store:
    """The local folder: connections, the vault, background jobs (a Postgres catalog: its cache)."""
    cat = catalog()
    return cat if isinstance(cat, Store) else cat.cache


def sources() -> Config:
    """The config file's sources plus the connections kept in the store (raises `ConfigError`)."""
    return all_sources(load_config(), local_store().path)


def _fingerprint(runs_dir: Path) -> tuple:
    """Changes when a run starts or its manifest is rewritten (a stat per run, no parsing), and
    every 5 s anyway: a run whose process died is reported failed without its file changing."""
    marks = []
    try:
        for entry in os.scandir(runs_dir):
            try:
                st_ = os.stat(os.path.join(entry.path, "run.json"))
            except OSError:
                continue
            marks.append((entry.name, st_.st_mtime_ns, st_.st_size))
    except OSError:
        pass
    return str(runs_dir), int(time.time() // 5), hash(tuple(sorted(marks)))


@st.cache_resource(max_entries=4, show_spinner=False)
def _runs(fingerprint: tuple) -> pl.DataFrame:
    # a Postgres catalog's runs are read from Postgres (the fingerprint renews every 5 s)
    return catalog().sync_runs()


def runs() -> pl.DataFrame:
    """`sync_runs` as the store sees it now; manifests are re-read only when a run changed."""
    return _runs(_fingerprint(catalog().runs_dir))


def runs_version() -> str:
    """Changes whenever a run starts or finishes: the cache key for every catalog query."""
    frame = runs()
    where = str(getattr(catalog(), "label", None) or catalog().path)
    if frame.height == 0:
        return f"{where}|empty"
    return f"{where}|" + "|".join(f"{r}:{s}" for r, s in zip(frame["run_id"], frame["status"]))


@st.cache_resource(max_entries=2, show_spinner=False)
def _catalog(version: str) -> duckdb.DuckDBPyConnection:
    # one in-memory DuckDB per run list; every query gets its own cursor (thread safe)
    return catalog().connect()


@st.cache_data(show_spinner=False, max_entries=512)
def _query(sql: str, params: tuple, version: str) -> pl.DataFrame:
    cursor = _catalog(version).cursor()
    try:
        statements = cursor.extract_statements(sql)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise DsaError("the app only runs single read-only SELECT queries")
        return cursor.sql(sql, params=list(params)).pl()
    except duckdb.Error as exc:
        raise DsaError(f"catalog query failed: {one_line(str(exc))}") from None
    finally:
        cursor.close()


def query(sql: str, *params: Any) -> pl.DataFrame:
    """Read-only SQL over the catalog (tables, views, `sync_runs`), cached per run list."""
    return _query(sql, tuple(params), runs_version())


def report(name: str, *params: Any) -> pl.DataFrame:
    """A report query kept in `queries/<name>.sql`."""
    return query(queries.text(name), *params)


@st.cache_data(show_spinner=False, max_entries=8)
def _relations(version: str) -> dict[str, list[str]]:
    rows = _catalog(version).cursor().execute(
        "SELECT table_name, column_name FROM information_schema.columns"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def has(*names: str) -> bool:
    """Whether the catalog defines every one of these tables or views (features land over time)."""
    rel = _relations(runs_version())
    return all(n in rel for n in names)


def columns_of(name: str) -> list[str]:
    return _relations(runs_version()).get(name, [])


# -- selections kept in the URL ------------------------------------------------------------


def choose(label: str, options: Sequence, param: str, *, default: Any = None, widget: str = "selectbox",
           format_func: Callable = str, container: Any = None, **kwargs: Any) -> Any:
    """A select widget whose value lives in `st.query_params[param]` (deep links, shared URLs)."""
    options = list(options)
    if not options:
        st.query_params.pop(param, None)
        return None
    key = f"qp:{param}"
    by_text = {str(o): o for o in options}
    fallback = default if default in options else options[0]
    wanted = st.query_params.get(param)
    if key not in st.session_state or st.session_state.get(f"{key}:url") != wanted:
        # a fresh session or a URL changed by a link: the URL decides
        st.session_state[key] = by_text.get(wanted, fallback)
    elif st.session_state[key] not in options:
        st.session_state[key] = fallback
    draw = getattr(container if container is not None else st, widget)
    value = draw(label, options, key=key, format_func=format_func, **kwargs)
    st.query_params[param] = str(value)
    st.session_state[f"{key}:url"] = str(value)
    return value


def url_key(param: str, from_url: Callable[[str | None], Any]) -> str:
    """The session-state key of a widget whose value lives in `st.query_params[param]`: the URL
    seeds it in a fresh session or when a link changed it. Call `url_store` after the widget."""
    key = f"qp:{param}"
    raw = st.query_params.get(param)
    if key not in st.session_state or st.session_state.get(f"{key}:url") != raw:
        st.session_state[key] = from_url(raw)
    return key


def url_store(param: str, text: str | None) -> None:
    keep(param, text)
    st.session_state[f"qp:{param}:url"] = text


def keep(param: str, value: Any) -> None:
    """Put a value into the URL (or take it out when None)."""
    if value is None:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = str(value)


# -- sharing -------------------------------------------------------------------------------


def copy_link(page_path: str) -> None:
    """The view's link, the URL with its query parameters, in a box with a copy button."""
    here = (st.context.url or "").rstrip("/")  # the page's address, or the app's (Streamlit versions differ)
    if page_path and not here.endswith("/" + page_path):
        here += "/" + page_path
    query = urlencode(st.query_params.to_dict())
    st.caption("Link to this view (the button at the box's right copies it)")
    st.code(here + (f"?{query}" if query else ""), language=None, wrap_lines=True)


def download_report(source: str, run: str | None = None, against: str | None = None,
                    tables: str | None = None) -> None:
    """A Download report button giving the file `dsa report` writes for what the page shows
    (same function, same arguments, same bytes); its help names the command."""
    shown = catalog()
    try:
        config = load_config()
    except DsaError:
        config = Config()
    args = [source] + [a for flag, v in (("--run", run), ("--against", against), ("--tables", tables)) if v
                       for a in (flag, v)]
    # the callable runs when the button is pressed, outside the script: it uses only what it is given
    st.download_button("Download report", icon=":material/download:", on_click="ignore", mime="text/html",
                       data=lambda: report_bytes(shown, config, source, run, against, "html", tables),
                       file_name=default_file_name(source), key=f"report:{source}:{run}:{against}:{tables}",
                       help="One HTML file that opens offline in any browser, as written by "
                            + md(shlex.join(["dsa", "report", *args])))


# -- safety --------------------------------------------------------------------------------

def read_only() -> bool:
    """Hosting mode: no scans and no connection edits (`DSA_READ_ONLY=1`, `app: {read_only: true}` in
    dsa.yaml, or `[dsa] read_only = true` in .streamlit/secrets.toml)."""
    if os.environ.get("DSA_READ_ONLY", "").lower() in ("1", "true", "yes"):
        return True
    try:
        if load_config().app.read_only:
            return True
    except DsaError:
        return True  # a broken config must not open the app up for writing
    try:
        return bool(st.secrets.get("dsa", {}).get("read_only", False))
    except Exception:  # no secrets file at all
        return False


def refuse_if_read_only(action: str) -> None:
    """Server-side guard: a read-only app refuses the action even if a request gets through."""
    if read_only():
        raise DsaError(f"{action} is disabled: this app is read-only")


def login_configured() -> bool:
    """Whether `.streamlit/secrets.toml` has an `[auth]` section (the app then asks for login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def exposure_warning() -> str | None:
    """One line when the app listens beyond this machine with no login, else None."""
    address = st.get_option("server.address") or ""
    if is_loopback(address) or login_configured():
        return None
    return (f"This app listens on {address or 'every interface'} without a login: anyone who reaches it reads "
            "the catalog. Add an [auth] section to .streamlit/secrets.toml, or serve on 127.0.0.1.")


def require_login() -> None:
    """With an `[auth]` section in `.streamlit/secrets.toml`, ask for login with `st.login`."""
    if not login_configured():
        return
    if not _logged_in():
        st.title("dsa")
        st.write("This catalog is private. Log in to continue.")
        if st.button("Log in", type="primary"):
            st.login()
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {md(st.user.get('email') or st.user.get('name') or 'user')}")
        if st.button("Log out"):
            st.logout()


def _logged_in() -> bool:
    try:
        return bool(st.user.get("is_logged_in", False))
    except Exception:  # no identity information at all
        return False


def user_name() -> str:
    try:
        if _logged_in():
            return str(st.user.get("email") or st.user.get("name") or "app")
    except Exception:
        pass
    return "app"


# -- background jobs -----------------------------------------------------------------------


def start_job(connection: str, steps: list[str], sample: str | None) -> str:
    refuse_if_read_only("starting a scan")
    return jobs.start_job(local_store(), connection, steps, sample, env={"DSA_USER": user_name()})


def partial_notice(run_id: str | None) -> None:
    """One line under a run picker when the run is partial: what it could not read is unknown."""
    note = partial_note(catalog(), run_id) if run_id else None
    if note:
        st.caption(md(note[0].upper() + note[1:]))


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes} min {s} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def empty(message: str) -> None:
    st.info(message, icon=":material/info:")


def stored_diff(old_run: str, new_run: str) -> str | None:
    """The newest stored diff run (`dsa diff`) of exactly these two scan runs, if any."""
    if not has("diff_sync_runs", "diff_changes", "diff_summary"):
        return None
    found = query("SELECT run_id FROM diff_sync_runs WHERE from_run_id = ? AND to_run_id = ? "
                  "AND status IN ('success', 'partial') ORDER BY started_at DESC LIMIT 1", old_run, new_run)
    return found["run_id"][0] if found.height else None


def change_counts(old_run: str, new_run: str) -> pl.DataFrame:
    """entity_type, change_type, n: from the stored diff when there is one, else the app's own."""
    diff_run = stored_diff(old_run, new_run)
    if diff_run:
        return query("SELECT entity_type, change_type, n FROM (UNPIVOT (SELECT entity_type, added, removed, renamed, "
                     "modified, moved, unknown FROM diff_summary WHERE run_id = ?) ON COLUMNS(* EXCLUDE entity_type) "
                     "INTO NAME change_type VALUE n)", diff_run)
    return changes(old_run, new_run).group_by("entity_type", "change_type").len("n")


def changes(old_run: str, new_run: str) -> pl.DataFrame:
    """What changed between two scan runs (`queries/app_changes.sql`), renames paired."""
    return detect_renames(report("app_changes", old_run, new_run))


# -- connections ---------------------------------------------------------------------------

SECRET_WORDS = ("password", "secret", "token", "passphrase")


def is_secret_field(name: str) -> bool:
    return any(w in name.lower() for w in SECRET_WORDS)


def connection_rows() -> list[dict[str, Any]]:
    """Every connection (config file and store): type, target, where its secret lives (never the secret)."""
    return [{"connection": c.name, "type": c.type, "source": c.target, "defined in": c.defined_in, "secret": c.secret}
            for c in connections.list_connections(local_store().path, load_config())]


def save_connection(name: str, spec: dict[str, Any], secret_values: dict[str, str], replace: bool = False) -> None:
    """Validate and keep a connection: settings in the store, its secret encrypted in the vault.
    Editing (`replace`) with the password left empty keeps the stored secret."""
    refuse_if_read_only("editing connections")
    if not name or not name.strip():
        raise ConfigError("connection name: must not be empty")
    for value in secret_values.values():
        register_secret(value)
    given = [(("dsn" if k == "dsn" else "password"), v) for k, v in secret_values.items() if v]
    if len(given) > 1:
        raise ConfigError("give the password once: either in the DSN or as the password, not both")
    secret = given[0] if given else None
    if secret is None and replace:
        secret = Vault(local_store().path).get(name)  # unchanged: keep what the vault holds
    connections.add_connection(local_store().path, load_config(), name, spec, secret, replace=replace)


def remove_connection(name: str) -> None:
    refuse_if_read_only("removing connections")
    connections.remove_connection(local_store().path, load_config(), name)


def test_connection(name: str, spec: dict[str, Any], secret_values: dict[str, str], saved: bool = False) -> str:
    """Open the source read-only and close it again; returns where it connected to. `saved`: test
    the stored connection as it is (with its secret from the vault). A read-only app reaches no
    source, so it refuses this too."""
    refuse_if_read_only("testing connections")
    if saved:
        result = connections.check_connection(local_store().path, sources(), name)
        if not result.ok:
            raise SourceError(result.message)
        return result.target or name
    for value in secret_values.values():
        register_secret(value)
    options = parse_source(name, {**spec, **{k: v for k, v in secret_values.items() if v}})
    connector = open_source(name, options)
    conn = connector.connect()
    try:
        conn.close()
    except Exception:
        pass
    return connector.describe()


def run_label(row: dict) -> str:
    """How a run is offered in a list: unique (widgets match options by their label), newest first."""
    return f"{row['started_at']:%Y-%m-%d %H:%M:%S} UTC · {row['status']} · {row['run_id'][-4:]}"
