"""`dsa watch`: the configured schedules, in the foreground."""

from __future__ import annotations

from dsa.cli.common import app, console, state


@app.command()
def watch() -> None:
    """Run the configured schedules: (cron expressions) in the foreground until Ctrl-C."""
    from datetime import datetime

    from dsa.watch import watch as run_watch

    config = state.config()
    console.print(f"watching {len(config.schedules)} schedules (Ctrl-C to stop)")

    def say(line: str) -> None:
        console.print(f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S}  {line}", markup=False)

    run_watch(state.store(), config, say)
