"""Checks people write: the language (`language`), its SQL (`plan`), evaluating it in the source
engine (`evaluate`), the `dsa check` run (`run`), its output (`report`) and suggestions from a
profile (`suggest`). See docs/checks.md."""
