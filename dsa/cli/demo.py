from __future__ import annotations

from dsa.cli.common import app, console, progress_bar, state


@app.command()
def demo() -> None:
    """Build the demo shop database in two versions, then scan, profile and diff them."""
    from dsa.demo import run_demo

    with progress_bar("demo") as progress:
        lines = run_demo(state.store(), progress=progress)
    for line in lines:
        console.print(line)
    console.print("next: `dsa app` to explore it, `dsa runs` for the history")
