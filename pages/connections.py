"""Connections: the sources dsa knows (dsa.yaml and the store), and adding, editing, testing and
removing them. Passwords are typed into password fields, kept encrypted, and never shown again."""

from types import UnionType
import typing
from urllib.parse import urlsplit

import polars as pl
import streamlit as st

from dsa import ui
from dsa.config import SourceOptions, load_config
from dsa.connectors import connector_types, get_connector
from dsa.errors import DsaError, one_line, scrub
from dsa.sources import stored_specs

ui.ensure_navigation()

st.title("Connections")
BASE_KEYS = set(SourceOptions.model_fields)

try:
    config_sources = load_config().sources
    merged = ui.sources().sources
except DsaError as exc:
    st.error(ui.md(exc))
    st.stop()
stored = stored_specs(ui.local_store().path)

rows = ui.connection_rows()
if rows:
    st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
else:
    ui.empty("No connection yet. Add one below, or load the demo from the Overview page.")


def field_kind(annotation) -> type:
    """bool, int, float, list, dict or str: how a connector option is typed into the form."""
    union = typing.get_origin(annotation) in (typing.Union, UnionType)
    args = [a for a in typing.get_args(annotation) if a is not type(None)] if union else [annotation]
    for kind in (bool, int, float, list, dict):
        if any(a is kind or typing.get_origin(a) is kind for a in args):
            return kind
    return str


def has_password(dsn: str) -> bool:
    try:
        return urlsplit(dsn).password is not None
    except ValueError:
        return False


if ui.read_only():
    st.caption("This app is read-only: connections cannot be changed here.")
    st.stop()

st.subheader("Add or edit a connection")
editable = sorted(n for n in stored if n not in config_sources)
choice = ui.choose("Connection", ["(new connection)", *editable], "conn")
existing = stored.get(choice, {}) if choice != "(new connection)" else {}
types = connector_types()
kind = st.selectbox("Type", types, index=types.index(existing["type"]) if existing.get("type") in types else 0,
                    disabled=bool(existing))
Options = get_connector(kind).Options

with st.form("connection", clear_on_submit=False):
    name = st.text_input("Name", value=choice if existing else "", disabled=bool(existing),
                         help="How commands and pages call this source, e.g. `warehouse`.")
    spec: dict = {"type": kind}
    secret_values: dict = {}
    for field, info in Options.model_fields.items():
        if field in BASE_KEYS:
            continue
        ftype = field_kind(info.annotation)
        label = field + ("" if not info.is_required() else " *")
        current = existing.get(field)
        if ui.is_secret_field(field):
            secret_values[field] = st.text_input(
                label, type="password", value="", help=info.description,
                placeholder="unchanged (stored encrypted)" if existing else "")
        elif ftype is bool:
            spec[field] = st.checkbox(field, value=bool(current if current is not None else info.default))
        elif ftype is dict:
            text = st.text_input(label, value=", ".join(f"{k}={v}" for k, v in (current or {}).items()),
                                 help="name=value pairs, comma-separated")
            pairs = [p.split("=", 1) for p in text.split(",") if "=" in p]
            if pairs:
                spec[field] = {k.strip(): v.strip() for k, v in pairs}
        elif ftype is list:
            text = st.text_input(label, value=", ".join(current or []), help="comma-separated")
            spec[field] = [p.strip() for p in text.split(",") if p.strip()]
        else:
            default = "" if current is None else str(current)
            text = st.text_input(label, value=default, help=info.description,
                                 type="password" if field == "dsn" else "default",
                                 placeholder="a DSN holding a password is stored encrypted" if field == "dsn" else "")
            if text.strip():
                spec[field] = int(text) if ftype is int and text.strip().isdigit() else text.strip()
    a, b = st.columns(2)
    schemas = a.text_input("Include schemas", value=", ".join(existing.get("include", {}).get("schemas", [])),
                           help="glob patterns, comma-separated; empty: all")
    excluded = b.text_input("Exclude tables", value=", ".join(existing.get("exclude", {}).get("tables", [])),
                            help="glob patterns, comma-separated")
    if schemas.strip():
        spec["include"] = {"schemas": [p.strip() for p in schemas.split(",") if p.strip()]}
    if excluded.strip():
        spec["exclude"] = {"tables": [p.strip() for p in excluded.split(",") if p.strip()]}
    c1, c2, _ = st.columns([1, 1, 4])
    test = c1.form_submit_button("Test", icon=":material/network_check:")
    save = c2.form_submit_button("Save", type="primary", icon=":material/save:")

name = (choice if existing else name).strip()
if isinstance(spec.get("dsn"), str) and has_password(spec["dsn"]):
    secret_values["dsn"] = spec.pop("dsn")  # a DSN with a password in it is a secret as a whole
if test:
    try:
        unchanged = bool(existing) and spec == existing and not any(secret_values.values())
        where = ui.test_connection(name or "new", spec, secret_values, saved=unchanged)
        st.success(ui.md(f"connected to {where}"), icon=":material/check_circle:")
    except DsaError as exc:
        st.error(ui.md(exc))
    except Exception as exc:  # a driver error we did not anticipate: one line, scrubbed
        st.error(ui.md(scrub(one_line(f"cannot connect: {exc.__class__.__name__}: {exc}"))))
if save:
    try:
        ui.save_connection(name, spec, secret_values, replace=bool(existing))
    except DsaError as exc:
        st.error(ui.md(exc))
    else:
        st.success(ui.md(f"saved connection '{name}'"))
        st.query_params["conn"] = name

if existing:
    st.subheader("Remove")
    sure = st.checkbox(f"Yes, remove {ui.md(choice)} (its runs stay in the catalog)")
    if st.button("Remove connection", disabled=not sure, icon=":material/delete:"):
        try:
            ui.remove_connection(choice)
        except DsaError as exc:
            st.error(ui.md(exc))
        else:
            st.query_params.pop("conn", None)
            st.session_state.pop("qp:conn", None)
            st.rerun()
