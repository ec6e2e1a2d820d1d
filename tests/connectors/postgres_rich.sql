-- Everything the Postgres connector extracts, for tests/connectors/test_postgres.py.
CREATE SCHEMA sales;
COMMENT ON SCHEMA sales IS 'Sales data';
CREATE SCHEMA ref;
CREATE TYPE sales.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN sales.posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN sales.email AS varchar(200) NOT NULL;
CREATE TYPE sales.pair AS (a integer, b text);

CREATE TABLE ref.countries (code char(2) PRIMARY KEY, name text NOT NULL);
CREATE TABLE sales.regions (country char(2), region_no smallint, name text,
    PRIMARY KEY (country, region_no),
    CONSTRAINT regions_country_fk FOREIGN KEY (country) REFERENCES ref.countries (code)
        ON DELETE CASCADE ON UPDATE RESTRICT);
CREATE TABLE sales.stores (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    country char(2) NOT NULL,
    region_no smallint NOT NULL,
    parent_id bigint REFERENCES sales.stores (id) ON DELETE SET NULL,
    code varchar(20) NOT NULL,
    price numeric(12,2) DEFAULT 0.00 CHECK (price >= 0),
    price_with_tax numeric GENERATED ALWAYS AS (price * 1.2) STORED,
    tags text[],
    grid integer[][],
    mood sales.mood DEFAULT 'ok',
    qty sales.posint,
    contact sales.email,
    serial_no serial,
    CONSTRAINT stores_region_fk FOREIGN KEY (country, region_no) REFERENCES sales.regions (country, region_no),
    CONSTRAINT stores_code_uq UNIQUE (country, code)
);
COMMENT ON TABLE sales.stores IS 'One row per store';
COMMENT ON COLUMN sales.stores.code IS 'Store code, unique per country';
CREATE UNIQUE INDEX stores_lower_code_idx ON sales.stores (lower(code), country) WHERE parent_id IS NULL;
CREATE INDEX stores_tags_gin ON sales.stores USING gin (tags);
CREATE INDEX stores_cover_idx ON sales.stores (country) INCLUDE (code);
CREATE UNIQUE INDEX stores_serial_no_key ON sales.stores (serial_no);

CREATE SCHEMA "we""ird schema.v1/ü";
COMMENT ON SCHEMA "we""ird schema.v1/ü" IS 'odd';
CREATE TYPE "we""ird schema.v1/ü"."my type" AS ENUM ('a');

CREATE TABLE sales.exotic (
    r int4range, tr tstzrange, j json, jb jsonb, ts tsvector, m money, b bit(3), vb bit varying(8),
    iv interval, u uuid, ip inet, c cidr, p sales.pair, ts6 timestamp(3) with time zone,
    t time without time zone, ch character(5), f double precision, rl real, bo boolean, by bytea, x xml,
    pt point, ia bigint[], moods sales.mood[], iv2 interval day to second(2), vc varchar, n numeric(5),
    odd "we""ird schema.v1/ü"."my type"
);

CREATE TABLE sales.events (id bigint, at date NOT NULL, payload jsonb, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE sales.events_2024 PARTITION OF sales.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE sales.events_2025 PARTITION OF sales.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE sales.events_default PARTITION OF sales.events DEFAULT;
CREATE TABLE sales.visits (id integer, event_id bigint, event_at date,
    FOREIGN KEY (event_id, event_at) REFERENCES sales.events (id, at));

CREATE MATERIALIZED VIEW sales.store_counts AS SELECT country, count(*) AS n FROM sales.stores GROUP BY country;
CREATE VIEW sales.big_stores AS SELECT id, code FROM sales.stores WHERE price > 100;

CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE sales.ext_rates (currency char(3), rate numeric) SERVER files
    OPTIONS (filename '/dev/null', format 'csv');

CREATE TABLE "we""ird schema.v1/ü"."select" (
    "from" integer PRIMARY KEY, "Mixed Case" text, "a""b" text, "x.y/z" text, "ünï" text,
    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" "we""ird schema.v1/ü"."my type"
);
CREATE TABLE "we""ird schema.v1/ü"."a b.c/d" (id integer);
CREATE TABLE "we""ird schema.v1/ü"."quo""te" ("x.y/z" integer REFERENCES "we""ird schema.v1/ü"."select" ("from"));
CREATE TABLE "we""ird schema.v1/ü"."ünïcødé 表" (id integer);
CREATE TABLE "we""ird schema.v1/ü"."ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt" (id integer);
CREATE SCHEMA "select";
CREATE TABLE "select"."from" ("where" integer);

INSERT INTO ref.countries VALUES ('DE', 'Germany'), ('FR', 'France'), ('IT', 'Italy');
INSERT INTO sales.regions VALUES ('DE', 1, 'North'), ('FR', 1, 'Paris');
INSERT INTO sales.stores (country, region_no, code, price, contact)
VALUES ('DE', 1, 'B1', 150, 'a@x'), ('DE', 1, 'B2', 50, 'b@x'), ('FR', 1, 'P1', 10, 'c@x'), ('FR', 1, 'P2', 0, 'd@x');
