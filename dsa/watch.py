"""`dsa watch`: run the configured `schedules:` in the foreground, for hosts without a scheduler.

Each schedule is a cron expression (croniter) and what to run on its sources: scan, quality,
check, in that order. The loop sleeps until the next schedule is due, runs it, and goes on; a
step that fails is reported and the next one still runs. Ctrl-C ends it cleanly (a run cut short
is marked as such by the store). docs/checks.md, "Schedules", shows cron and Airflow instead.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

from croniter import croniter

from dsa.checks.run import check
from dsa.config import Config, Schedule
from dsa.errors import ConfigError, DsaError
from dsa.quality import quality
from dsa.scan import scan
from dsa.store import Store

Say = Callable[[str], None]


def label(schedule: Schedule, index: int) -> str:
    return schedule.name or f"schedules[{index}]"


def next_times(config: Config, after: datetime) -> list[datetime]:
    return [croniter(s.cron, after).get_next(datetime) for s in config.schedules]


def run_schedule(store: Store, config: Config, schedule: Schedule, name: str, say: Say) -> None:
    """Every step of one schedule on each of its sources; errors are reported, not raised."""
    for source in schedule.sources:
        for step in schedule.run:
            if step == "check" and not config.check_groups(source):
                continue
            try:
                if step == "scan":
                    result = scan(store, config, source)
                    say(f"{name}: scan {source}: {result.run_id} {result.status}")
                elif step == "quality":
                    result = quality(store, config, source)
                    say(f"{name}: quality {source}: {result.run_id} {result.status}")
                else:
                    run = check(store, config, source)
                    say(f"{name}: check {source}: {run.run_id} {run.count('pass')} passed, {run.count('warn')} warned, "
                        f"{run.count('fail')} failed, {run.count('error')} errored")
            except DsaError as exc:
                say(f"{name}: {step} {source}: error: {exc}")


def watch(store: Store, config: Config, say: Say, *, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
          sleep: Callable[[float], None] = time.sleep, rounds: int | None = None) -> None:
    """Run schedules as they fall due, forever (or `rounds` times: tests)."""
    if not config.schedules:
        raise ConfigError("no schedules: configured (add them under schedules: in the config)")
    for source in {s for schedule in config.schedules for s in schedule.sources}:
        config.source(source)
    due = next_times(config, clock())
    done = 0
    while rounds is None or done < rounds:
        soonest = min(due)
        wait = (soonest - clock()).total_seconds()
        if wait > 0:
            sleep(min(wait, 60))  # wake at least once a minute: a clock change is noticed
            continue
        for i, schedule in enumerate(config.schedules):
            if due[i] <= clock():
                run_schedule(store, config, schedule, label(schedule, i), say)
                due[i] = croniter(schedule.cron, clock()).get_next(datetime)
        done += 1
