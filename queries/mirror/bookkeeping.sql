-- The mirror's own tables, in schema dsa_production next to the catalog tables.

-- One row per run copied into the mirror; inserted in the run's own transaction, so a run is
-- listed here exactly when all its rows are there. The primary key serializes racing mirrors.
CREATE TABLE IF NOT EXISTS dsa_production.mirrored_runs (
    run_id      text PRIMARY KEY,
    connection  text,
    run_type    text,
    status      text,
    row_counts  jsonb,
    mirrored_at timestamptz NOT NULL DEFAULT now()
);

-- Settings of the mirror itself, e.g. the digest of the view definitions last created.
CREATE TABLE IF NOT EXISTS dsa_production.mirror_meta (
    key   text PRIMARY KEY,
    value text
);
