-- Stop the statement a profiling session is running (its deadline passed, or Ctrl-C), from a
-- second session: the driver cannot interrupt a statement in flight.
KILL QUERY %s
