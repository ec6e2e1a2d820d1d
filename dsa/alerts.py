"""Alerts: a JSON payload to the configured webhooks for each NEW check failure or anomaly.

"New" means the previous run of the same connection did not already report it (a check failing
run after run alerts once, when it starts failing; again only after it passed in between). The
payload carries a Slack-compatible `text` (so a Slack incoming webhook shows it as is), the events
themselves, and deep links into the app when `alerts.app_url` is set (docs/checks.md, "Alerts").
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from dsa.config import AlertOptions, Webhook
from dsa.errors import one_line

log = logging.getLogger("dsa.alerts")

PREVIOUS_CHECKS = """
SELECT qualified_name, name, outcome FROM check_results
WHERE run_id = (SELECT run_id FROM check_runs WHERE connection = ? AND started_at < (
                    SELECT started_at FROM check_runs WHERE run_id = ?) ORDER BY started_at DESC LIMIT 1)
  AND outcome <> 'pass'
"""
PREVIOUS_ANOMALIES = """
SELECT qualified_name, metric FROM anomalies
WHERE run_id = (SELECT run_id FROM sync_runs WHERE connection = ? AND run_type = 'quality'
                AND status IN ('success', 'partial')
                AND started_at < (SELECT started_at FROM sync_runs WHERE run_id = ?) ORDER BY started_at DESC LIMIT 1)
"""


@dataclass
class Event:
    kind: str  # fail | warn | error | anomaly
    connection: str
    table: str | None
    title: str  # what happened, one line
    link: str | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "connection": self.connection, "table": self.table, "title": self.title,
                "link": self.link}


def link(options: AlertOptions, page: str, connection: str, table: str | None, run_id: str) -> str | None:
    if not options.app_url:
        return None
    params = {"conn": connection, "run": run_id, **({"table": table} if table else {})}
    return f"{options.app_url.rstrip('/')}/{page}?{urlencode(params)}"


def check_events(store, options: AlertOptions, connection: str, run_id: str) -> list[Event]:
    """The run's failed, warned and errored checks that the previous check run did not report."""
    before = {tuple(r) for r in store.sql(PREVIOUS_CHECKS, [connection, run_id]).iter_rows()}
    now = store.sql("SELECT qualified_name, table_name, name, outcome, value_text, error, fail_threshold, warn_threshold "
                    "FROM check_results WHERE run_id = ? AND outcome <> 'pass' ORDER BY qualified_name, name", [run_id])
    events = []
    for qn, table, name, outcome, value, error, fail, warn in now.iter_rows():
        if (qn, name, outcome) in before:
            continue
        rule = warn if outcome == "warn" else fail
        detail = error if outcome == "error" else f"{value} ({outcome} unless {rule})"
        events.append(Event(outcome, connection, qn, f"{outcome.upper()} {qn}: {name}: {detail}",
                            link(options, "checks", connection, table, run_id)))
    return events


def anomaly_events(store, options: AlertOptions, connection: str, run_id: str) -> list[Event]:
    """The run's anomalies not already flagged by the previous quality run (schema events always)."""
    before = {tuple(r) for r in store.sql(PREVIOUS_ANOMALIES, [connection, run_id]).iter_rows()}
    now = store.sql("SELECT qualified_name, table_qualified_name, metric, explanation FROM anomalies WHERE run_id = ? "
                    "ORDER BY qualified_name, metric", [run_id])
    return [Event("anomaly", connection, table, f"ANOMALY {explanation}", link(options, "quality", connection, table, run_id))
            for qn, table, metric, explanation in now.iter_rows() if (qn, metric) not in before]


def text(connection: str, events: list[Event]) -> str:
    """Slack-compatible message text: a headline, then one line per event with its link."""
    lines = [f"dsa: {len(events)} new on '{connection}'"]
    for e in events:
        lines.append(f"• <{e.link}|{e.title}>" if e.link else f"• {e.title}")
    return "\n".join(lines)


def post(hook: Webhook, payload: dict) -> None:
    import urllib.request  # here: every quality run imports this module, few post alerts

    request = urllib.request.Request(hook.url, data=json.dumps(payload, default=str).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "dsa"})
    with urllib.request.urlopen(request, timeout=hook.timeout_s) as response:
        response.read()


def notify(store, options: AlertOptions, connection: str, run_id: str, events: list[Event]) -> int:
    """Post `events` to every webhook that wants them; a webhook that fails is a warning, not an
    error of the run. Returns how many posts were delivered."""
    delivered = 0
    for hook in options.webhooks:
        wanted = [e for e in events if e.kind in hook.on and (not hook.sources or connection in hook.sources)]
        if not wanted:
            continue
        payload = {"text": text(connection, wanted), "connection": connection, "run_id": run_id,
                   "events": [e.to_dict() for e in wanted]}
        try:
            post(hook, payload)
            delivered += 1
        except Exception as exc:  # the run's verdicts stand; say where the alert could not go (never the URL's path)
            log.warning("warning: alert to %s failed: %s", urlsplit(hook.url).netloc, one_line(str(exc))[:200])
    return delivered


def after_run(store, options: AlertOptions, connection: str, run_id: str) -> int:
    """Alert on a finished run's new check failures and anomalies."""
    if not options.webhooks:
        return 0
    events = check_events(store, options, connection, run_id) + anomaly_events(store, options, connection, run_id)
    return notify(store, options, connection, run_id, events) if events else 0
