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

import altair as alt
import duckdb
import polars as pl
import streamlit as st

from dsa import charts, connections, jobs, lineage_graph, lint, queries, reports
from dsa.catalog import USABLE, Catalog, open_catalog, partial_note
from dsa.checks.suggest import suggest_yaml
from dsa.config import DEFAULT_CONFIG, DEFAULT_STORE, Config, load_config, parse_source
from dsa.connectors import connector_types as registered_types, get_connector, open_source
from dsa.demo import run_demo
from dsa.diff import diff
from dsa.errors import ConfigError, DsaError, NotFound, SourceError, one_line, register_secret
from dsa.escape import md, md_code
from dsa.options import SourceOptions
from dsa.report import default_file_name, report_bytes
from dsa.score import SCORE_DEFINITION
from dsa.sources import all_sources, stored_specs
from dsa.store import Store
from dsa.system import is_loopback
from dsa.vault import Vault



# The app's pages: file, title, icon, URL path ("" for the default page). `streamlit_app.py`
# registers them with `st.navigation`; `sidebar_nav` draws their links.
PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:", ""),
    ("pages/explore.py", "Explore", ":material/account_tree:", "explore"),
    ("pages/quality.py", "Quality", ":material/monitoring:", "quality"),
    ("pages/checks.py", "Checks", ":material/rule:", "checks"),
    ("pages/changes.py", "Changes", ":material/difference:", "changes"),
    ("pages/runs.py", "Runs", ":material/history:", "runs"),
    ("pages/connections.py", "Connections", ":material/cable:", "connections"),
]


def ensure_navigation() -> None:
    """Every page calls this first. Streamlit starts in its old `pages/`-folder mode because the
    folder exists, and stays there until `st.navigation` has run once in the server: a deep link
    opened before that runs the page file alone, without `streamlit_app.py`. The login gate and
    the page links must be there all the same, so a page run alone draws them itself. Then the
    sidebar search."""
    frame = sys._getframe(1)
    while frame is not None:
        if Path(frame.f_code.co_filename).name == "streamlit_app.py":
            break  # run through the entry script, which did both already
        frame = frame.f_back
    else:
        require_login()
        sidebar_nav()
    sidebar_search()


def sidebar_nav() -> None:
    """The page links, by title. Streamlit's own menu is off (`client.showSidebarNavigation`):
    in the `pages/`-folder mode of a fresh server's first run it listed the files' names."""
    with st.sidebar:
        for path, title, icon, _ in PAGES:
            st.page_link(path, label=title, icon=icon)
        st.divider()


def catalog() -> Catalog:
    """The catalog this app shows: `DSA_STORE` (set by `dsa app`), else the config's `store:`,
    else `./.dsa`; a folder or a postgresql:// URL (`dsa.catalog.open_catalog`). Runs started
    from the app are mirrored when `mirror:` is configured or the catalog is in Postgres."""
    try:
        config = app_config()
    except DsaError:
        config = Config()
    spec = os.environ.get("DSA_STORE") or config.store or DEFAULT_STORE
    # the config without its sources (and their secrets) is the cache key of the open catalog
    return _open(str(spec), config.model_dump_json(exclude={"sources"}))


def app_config() -> Config:
    """The config file as `load_config` reads it (raises `ConfigError`), parsed again only when
    the file changed: a page asks for it a dozen times a run."""
    path = Path(os.environ.get("DSA_CONFIG") or DEFAULT_CONFIG)
    try:
        stat = path.stat()
        return _config(str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return load_config()  # no file: the empty config, or the error naming it


@st.cache_resource(max_entries=4, show_spinner=False)
def _config(path: str, mtime_ns: int, size: int) -> Config:
    return load_config()


@st.cache_resource(max_entries=4, show_spinner=False)
def _open(spec: str, config_json: str) -> Catalog:
    return open_catalog(spec, Config.model_validate_json(config_json))


def local_store() -> Store:
    """The local folder: connections, the vault, background jobs (a Postgres catalog: its cache)."""
    cat = catalog()
    return cat if isinstance(cat, Store) else cat.cache


def sources() -> Config:
    """The config file's sources plus the connections kept in the store (raises `ConfigError`)."""
    return all_sources(app_config(), local_store().path)


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


def _ask(name: str, args: tuple, version: str) -> Any:
    cursor = _catalog(version).cursor()
    try:
        return getattr(reports, name)(cursor, *args)
    except duckdb.Error as exc:
        raise DsaError(f"catalog query failed: {one_line(str(exc))}") from None
    finally:
        cursor.close()


@st.cache_data(show_spinner=False, max_entries=512)
def _report(name: str, args: tuple, version: str) -> Any:
    return _ask(name, args, version)


def report(function: Callable[..., Any], *args: Any) -> Any:
    """A report of `dsa.reports` (`function(connection, *args)`), cached per run list."""
    return _report(function.__name__, args, runs_version())


@st.cache_resource(show_spinner=False, max_entries=6)
def _frame(name: str, args: tuple, version: str) -> pl.DataFrame:
    return _ask(name, args, version)


def frame(function: Callable[..., pl.DataFrame], *args: Any) -> pl.DataFrame:
    """A run's whole frame of `dsa.reports` (a quality run's column profiles, a scan's tables),
    read once and shared by every session without a copy: pages pick from it in Polars, never
    change it. At most 6 are kept (the runs pages looked at last)."""
    return _frame(function.__name__, args, runs_version())


@st.cache_data(show_spinner=False, max_entries=32)
def _suggested(connection: str, version: str) -> str:
    return suggest_yaml(catalog(), connection)


def suggested_checks(connection: str) -> str:
    """`dsa checks suggest CONNECTION`'s YAML, cached per run list."""
    return _suggested(connection, runs_version())


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
    """The view's link, the URL with its query parameters, in a text box to copy it from. (A code
    box had a copy button, but its highlighter is 1.5 MB of JavaScript the browser loaded and
    compiled on every page: twice the time a page took to appear.)"""
    here = (st.context.url or "").rstrip("/")  # the page's address, or the app's (Streamlit versions differ)
    if page_path and not here.endswith("/" + page_path):
        here += "/" + page_path
    query = urlencode(st.query_params.to_dict())
    st.text_input("Link to this view", here + (f"?{query}" if query else ""),
                  help="The address of exactly this view: select it and copy it (Ctrl+C) to share it.")


def download_report(source: str, run: str | None = None, against: str | None = None,
                    tables: str | None = None) -> None:
    """A Download report button giving the file `dsa report` writes for what the page shows
    (same function, same arguments, same bytes); its help names the command."""
    shown = catalog()
    try:
        config = app_config()
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
        if app_config().app.read_only:
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


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes} min {s} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def command(*args: str) -> str:
    """A `dsa` command line for Markdown: shell-quoted, in a code span, shown exactly."""
    return md_code(shlex.join(["dsa", *args]))


def empty(message: str) -> None:
    st.info(message, icon=":material/info:")


def partial_notice(run_id: str | None) -> None:
    """One line under a run picker when the run is partial: what it could not read is unknown."""
    note = partial_note(catalog(), run_id) if run_id else None
    if note:
        st.caption(md(note[0].upper() + note[1:]))


def start_here(message: str) -> None:
    """An empty page: what is missing, and the next step offered as buttons (load the demo,
    scan a connection) unless the app is read-only, then stop the page."""
    st.info(message, icon=":material/info:")
    if read_only():
        st.caption("This app is read-only: scans run from the command line (`dsa scan SOURCE`).")
        st.stop()
    a, b = st.columns([1, 3])
    if a.button("Load the demo", type="primary", icon=":material/play_arrow:", key="start:demo"):
        load_demo()
    b.page_link("pages/runs.py", label="Scan a connection", icon=":material/history:")
    st.caption("Or in a terminal: `dsa demo`, `dsa scan SOURCE`, `dsa quality SOURCE`.")
    st.stop()


def load_demo() -> None:
    """Build, scan, profile and diff the demo shop into this catalog, then rerun the page."""
    try:
        refuse_if_read_only("loading the demo")
        with st.spinner("Building and scanning the demo shop..."):
            run_demo(local_store())
    except DsaError as exc:
        st.error(md(exc))
    else:
        st.rerun()


def compare_runs(connection: str, from_run: str, to_run: str) -> None:
    """Run `dsa diff` on two scan runs (stored as a diff run, as the command does), then rerun."""
    try:
        refuse_if_read_only("comparing runs")
        with st.spinner("Comparing the two scans..."):
            diff(local_store(), load_config(), connection, from_run=from_run, to_run=to_run)
    except DsaError as exc:
        st.error(md(exc))
    else:
        st.rerun()


def score_metric(container: Any, value: float | None, delta: float | None = None, label: str = "Quality score") -> None:
    """A quality score, its change (grey when nothing moved) and its definition in the help."""
    container.metric(label, "-" if value is None else f"{value:.1f}",
                     None if delta is None else f"{delta:+.1f}",
                     delta_color="normal" if delta and round(delta, 1) else "off", help=SCORE_DEFINITION)


# -- the sidebar search ---------------------------------------------------------------------

SEARCH_SHOWN = 25


def sidebar_search() -> None:
    """Search tables and columns of every connection's newest scan by name or comment, from any
    page; each match links to its place in Explore."""
    term = st.sidebar.text_input("Search tables and columns", placeholder="e.g. email", icon=":material/search:",
                                 key=url_key("q", lambda raw: raw or ""))
    url_store("q", term or None)
    if not term:
        return
    found = report(reports.search, term)
    if found.height == 0:
        st.sidebar.caption("Nothing matches.")
        return
    more = " (the first 200)" if found.height == 200 else ""
    st.sidebar.caption(f"{found.height} matches{more}" if found.height <= SEARCH_SHOWN
                       else f"{found.height} matches{more}; the first {SEARCH_SHOWN}:")
    for r in found.head(SEARCH_SHOWN).iter_rows(named=True):
        place = {"conn": r["connection"], "schema": r["schema_name"], "table": r["table_name"],
                 "column": r["column_name"], "q": term}
        name = ".".join(p for p in (r["connection"], r["schema_name"], r["table_name"], r["column_name"]) if p)
        st.sidebar.page_link("pages/explore.py", label=md(name), help=f"{r['kind']} · {r['type'] or ''}",
                             icon=":material/table:" if r["kind"] == "table" else ":material/view_column:",
                             query_params={k: v for k, v in place.items() if v is not None})


# -- drawing shared by pages ----------------------------------------------------------------

REPEATS = 0.01  # a top value seen in less than 1% of the non-null rows does not repeat meaningfully


EMPTY_CELL = "-"  # what a table shows in a cell without a value (never Streamlit's grey "None")


def table(frame: pl.DataFrame, column_config: dict[str, Any] | None = None, download_as: str | None = None,
          height: int | None = None) -> None:
    """A table as people read it: `column_config` maps shown columns to their `st.column_config`
    (label, format, width, help); empty text cells are blank, other empty cells a dash, never
    "None"; numbers without a configured format are localized (20,086); with `download_as`, a
    CSV download of the whole frame below it."""
    shown = frame.with_columns(pl.col(pl.Utf8).fill_null(""))
    config = dict(column_config or {})
    for name, dtype in shown.schema.items():
        if dtype.is_integer() and name not in config:
            config[name] = st.column_config.NumberColumn(name, format="localized")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, height=height or "auto",
                 placeholder=EMPTY_CELL)
    if download_as:
        download(frame, download_as)


def list_table(frame: pl.DataFrame, labels: dict[str, str], formats: dict[str, str] | None = None,
               empty: str = EMPTY_CELL) -> None:
    """A short list (a few rows of text and counts) as a plain Markdown table: headed by
    `labels` (shown column: its label), numbers formatted with `formats` (column: format spec,
    e.g. "{:,}"), empty cells `empty` (a dash), every value escaped. For summaries above the fold: it draws
    with the page's text, not with the data grid (whose code the browser would load first)."""
    formats = formats or {}

    def cell(name: str, value: Any) -> str:
        if value is None or value == "":
            return empty
        return md(formats[name].format(value) if name in formats else value)

    rows = ["| " + " | ".join(md(labels[c]) for c in labels) + " |", "|" + "---|" * len(labels)]
    rows += ["| " + " | ".join(cell(c, r[c]) for c in labels) + " |" for r in frame.select(list(labels)).iter_rows(named=True)]
    st.markdown("\n".join(rows))


def download(frame: pl.DataFrame, name: str) -> None:
    """A button that downloads the table just shown, as CSV. The file is written when the
    button is pressed, not at every rerun of the page."""
    st.download_button("Download CSV", lambda: frame.write_csv(), file_name=f"{name}.csv", mime="text/csv",
                       icon=":material/download:", key=f"download:{name}", on_click="ignore")


def value_charts(top: pl.DataFrame, histogram: pl.DataFrame, profile: dict | None) -> None:
    """A column's values: its top values when some value repeats; else, for near-unique or masked
    columns, the lengths and patterns of its text. Then its histogram."""
    non_null = (profile["total_count"] or 0) - (profile["null_count"] or 0) if profile else 0
    masked = bool(profile and profile.get("masked"))
    repeats = top.height > 0 and not masked and top["count"].max() > max(1, REPEATS * non_null)
    if repeats:
        st.altair_chart(charts.top_values(top), width="stretch")
    elif profile is None:
        st.caption("No top values recorded for this column.")
    else:
        st.caption("Masked values are not shown." if masked else "No value repeats meaningfully: "
                   "each value is (nearly) unique, so its lengths and patterns say more.")
        shapes = text_shapes(profile)
        if shapes is not None:
            st.altair_chart(alt.Chart(shapes.to_pandas()).mark_bar().encode(
                x=alt.X("rows:Q"), y=alt.Y("pattern:N", sort=None, title=None),
                tooltip=[alt.Tooltip("pattern:N"), alt.Tooltip("rows:Q", format=",")],
            ).properties(height=130, title="value patterns"), width="stretch")
        if profile.get("min_length") is not None:
            st.markdown(f"**Length** min {profile['min_length']:,} · mean {profile['avg_length'] or 0:,.1f} · "
                        f"max {profile['max_length']:,} characters")
    if histogram.height:
        st.altair_chart(charts.histogram(histogram), width="stretch")


def text_shapes(profile: dict) -> pl.DataFrame | None:
    """Rows of a text column by pattern: empty, blank, digits only, other (None for non-text)."""
    if profile.get("min_length") is None:
        return None
    non_null = (profile["total_count"] or 0) - (profile["null_count"] or 0)
    empty_, blank, digits = (profile.get(k) or 0 for k in ("empty_count", "whitespace_count", "numeric_text_count"))
    return pl.DataFrame({"pattern": ["empty", "blank", "digits only", "other text"],
                         "rows": [empty_, blank, digits, max(0, non_null - empty_ - blank - digits)]})


# -- connections ---------------------------------------------------------------------------

SECRET_WORDS = ("password", "secret", "token", "passphrase")


def is_secret_field(name: str) -> bool:
    return any(w in name.lower() for w in SECRET_WORDS)


BASE_OPTION_KEYS = set(SourceOptions.model_fields)  # what every source has: not typed into the form


def connection_list() -> pl.DataFrame:
    """The connections dsa knows (config file and store): name, type, where it points, where it
    is defined and where its secret lives (never the secret itself). Raises `ConfigError`."""
    rows = [{"connection": c.name, "type": c.type, "source": c.target, "defined in": c.defined_in, "secret": c.secret}
            for c in connections.list_connections(local_store().path, app_config())]
    return pl.DataFrame(rows) if rows else pl.DataFrame(schema=["connection", "type", "source", "defined in", "secret"])


def editable_connections() -> dict[str, dict[str, Any]]:
    """The connections kept in the store (not those of the config file), by name: their settings."""
    defined = app_config().sources
    return {name: spec for name, spec in sorted(stored_specs(local_store().path).items()) if name not in defined}


def connector_types() -> list[str]:
    return registered_types()


def connector_options(kind: str) -> type[SourceOptions]:
    """The options model of a connector type: the form's fields."""
    return get_connector(kind).Options


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


# -- lineage and schema insights (dsa.lineage_graph, dsa.lint) ------------------------------


# the lineage edges and schema findings of a run are whole-run frames: kept once, not copied
@st.cache_resource(show_spinner=False, max_entries=16)
def _lineage_edges(run_id: str, version: str) -> pl.DataFrame:
    return lineage_graph.edges(catalog(), run_id)


def lineage(run_id: str, name: str, direction: str = "both", depth: int = 3) -> pl.DataFrame:
    """The lineage edges around a table or column of a scan run (`dsa.lineage_graph.walk`)."""
    return lineage_graph.walk(_lineage_edges(run_id, runs_version()), name, direction, depth)


@st.cache_resource(show_spinner="Checking the schema...", max_entries=16)
def _findings(connection: str, run_id: str, quality_run: str | None, measure: bool, where: str,
              lint_options: str) -> pl.DataFrame:
    try:
        config = sources()
    except DsaError:
        config = Config()
    found = lint.lint(catalog(), config, connection, run_id, measure=measure and connection in config.sources,
                      quality_run=quality_run)
    return lint.findings_frame(found)


def _newest_usable(run_type: str, connection: str) -> str | None:
    """`dsa.catalog.latest_run` over the app's run list (None: there is none)."""
    frame = runs().filter((pl.col("run_type") == run_type) & (pl.col("connection") == connection)
                          & pl.col("status").is_in(USABLE))
    return frame.sort("started_at", "run_id")["run_id"][-1] if frame.height else None


def findings(connection: str, run_id: str | None, measure: bool = True) -> pl.DataFrame:
    """Schema insights of a scan run (`dsa.lint.lint`; None: the newest usable scan); `measure`:
    implied foreign keys' orphan rates asked of the source. Kept per scan run and the quality run
    the profile rules read (the connection's newest, as `dsa lint` reads it): a run of another
    connection, or a check or diff run, does not check the schema again."""
    run_id = run_id or _newest_usable("scan", connection)
    if run_id is None:
        raise NotFound(f"no successful or partial scan of '{connection}' in the catalog")
    try:
        options = app_config().lint.model_dump_json()
    except DsaError:
        options = ""
    where = str(getattr(catalog(), "label", None) or catalog().path)
    return _findings(connection, run_id, _newest_usable("quality", connection), measure, where, options)


ATTENTION_KINDS = {"failed check": "Failed checks", "anomaly": "Anomalies", "score drop": "Score drops",
                   "schema change": "Schema changes", "schema finding": "Schema findings"}


def attention() -> pl.DataFrame:
    """What needs attention on every connection (`dsa.reports.attention`), and after each
    connection's rows one more with its schema findings' count (`dsa lint` of its newest usable
    scan, orphan rates not measured: the count is the same). `n`: how many each row stands for."""
    found = report(reports.attention).with_columns(n=pl.lit(1, pl.Int64))
    extra = []
    for name in report(reports.overview)["connection"].to_list():
        try:
            rules = findings(name, None, measure=False)["rule"]
        except DsaError:  # no usable scan yet
            continue
        if rules.len():
            counts = rules.value_counts().sort(["count", "rule"], descending=[True, False])
            detail = ", ".join(f"{n} {rule}" for rule, n in counts.iter_rows())
            extra.append({"connection": name, "kind": "schema finding", "severity": "finding", "what": name,
                          "detail": f"{rules.len()} findings: {detail}", "n": rules.len()})
    if not extra:
        return found
    rows = pl.concat([found, pl.DataFrame(extra, schema={k: found.schema[k] for k in extra[0]})], how="diagonal")
    return rows.sort("connection", maintain_order=True)


def attention_counts(rows: pl.DataFrame) -> dict[str, int]:
    """How many of each kind `attention()` lists, by its label, every kind present (zeros too)."""
    per = dict(rows.group_by("kind").agg(pl.col("n").sum()).iter_rows()) if rows.height else {}
    return {label: int(per.get(kind, 0)) for kind, label in ATTENTION_KINDS.items()}


def anomaly_marks(connection: str, qualified_name: str | None = None) -> pl.DataFrame:
    """The quality runs of `connection` that flagged anomalies (of `qualified_name` only, if
    given), as marks for a time chart (`dsa.reports.marks`)."""
    flagged = report(reports.anomalies, connection).filter(pl.col("run_type") == "quality")
    if qualified_name is not None:
        flagged = flagged.filter(pl.col("qualified_name") == qualified_name)
    return reports.marks(flagged)


@st.cache_data(show_spinner=False, max_entries=64)
def _impact(diff_run_id: str, version: str) -> list[dict[str, Any]]:
    return lineage_graph.diff_impact(catalog(), diff_run_id)


def impact(diff_run_id: str) -> list[dict[str, Any]]:
    """What a stored diff's changes reach downstream (`dsa.lineage_graph.impact`)."""
    return _impact(diff_run_id, runs_version())
