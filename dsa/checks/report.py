"""How `dsa check` prints its verdicts: text for people, JSON and JUnit XML for CI systems."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from dsa.checks.evaluate import Outcome
from dsa.checks.run import CheckRun

EXIT_FAILED = 5


def as_dict(run: CheckRun, o: Outcome) -> dict:
    """One check's verdict (`--format json`): at least name, check, table, column, value, outcome."""
    return {
        "name": o.check.name, "check": o.check.text, "table": o.table, "column": o.column,
        "value": o.value_number() if o.value_number() is not None else o.value_text(), "value_text": o.value_text(),
        "outcome": o.outcome, "fail": o.check.thresholds["fail"], "warn": o.check.thresholds["warn"],
        "samples": o.samples, "samples_masked": o.masked, "error": o.error, "source": run.connection,
        "run_id": run.run_id,
    }


def as_json(runs: list[CheckRun]) -> str:
    return json.dumps([as_dict(r, o) for r in runs for o in r.outcomes], default=str, ensure_ascii=False)


def as_junit(runs: list[CheckRun]) -> str:
    """One testsuite per source, one testcase per check and table; warnings pass with a note."""
    suites = ET.Element("testsuites", name="dsa check")
    for run in runs:
        suite = ET.SubElement(suites, "testsuite", name=run.connection, tests=str(len(run.outcomes)),
                              failures=str(run.count("fail")), errors=str(run.count("error")))
        for o in run.outcomes:
            case = ET.SubElement(suite, "testcase", classname=f"{run.connection}.{o.table}", name=o.check.name)
            text = line(o)
            if o.outcome == "fail":
                ET.SubElement(case, "failure", message=text).text = text
            elif o.outcome == "error":
                ET.SubElement(case, "error", message=text).text = text
            elif o.outcome == "warn":
                ET.SubElement(case, "system-out").text = text
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def line(o: Outcome) -> str:
    """`orders: missing_percent(email) < 1: 3.2 (fail unless < 1)`."""
    if o.outcome == "error":
        return f"{o.table}: {o.check.name}: {o.error}"
    value = o.value_text() if o.value is not None else "no value"
    rule = o.check.thresholds["warn"] if o.outcome == "warn" else o.check.thresholds["fail"]
    text = f"{o.table}: {o.check.name}: {value}"
    if o.outcome in ("fail", "warn") and rule:
        text += f" ({o.outcome} unless {rule})"
    if o.samples:
        text += "; e.g. " + ", ".join(f"{s['value']!s}" + (f" x{s['count']}" if (s["count"] or 1) > 1 else "") for s in o.samples)
    elif o.masked and o.outcome in ("fail", "warn"):
        text += "; samples masked"
    return text


def exit_code(runs: list[CheckRun], fail_on: str) -> int:
    """0 all pass; 5 a check failed or could not run (or warned, with --fail-on warn)."""
    bad = {"fail", "error"} | ({"warn"} if fail_on == "warn" else set())
    return EXIT_FAILED if any(o.outcome in bad for r in runs for o in r.outcomes) else 0
