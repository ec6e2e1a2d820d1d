-- The databases (namespaces) of the session's current catalog.
SHOW DATABASES
