"""The demo: a small shop database with deliberate quality problems, in two versions.

`build_shop(path, version)` writes a SQLite file. Version 1 is "yesterday", version 2 is
"today": a column added, one dropped, a type widened, a table renamed, an index and a table
added, a foreign key dropped, a view changed, and more missing emails. Everything is generated
from a fixed seed, so two builds are identical.

Deliberate problems: missing and duplicate customer emails, whitespace-only names, a skewed
country column, prices stored as text, impossible and future dates, order items pointing at
products that do not exist (an orphaned foreign key), an empty table, and a view.
"""

from __future__ import annotations

import fcntl
import os
import random
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

from dsa.config import Config
from dsa.connectors.base import Progress
from dsa.diff import diff
from dsa.errors import DsaError
from dsa.quality import quality
from dsa.scan import scan
from dsa.sources import all_sources, save_spec
from dsa.store import Store

FIRST = "Ada Alan Grace Linus Guido Barbara Ken Dennis Margaret Edsger Donald Frances Radia Tim Bjarne Anders".split()
LAST = "Lovelace Turing Hopper Torvalds Rossum Liskov Thompson Ritchie Hamilton Dijkstra Knuth Allen Perlman Berners-Lee Stroustrup Hejlsberg".split()
COUNTRIES = ["US"] * 14 + ["DE", "FR", "GB", "JP", "BR", "IN", "Україна", "Ελλάδα"]
CATEGORIES = ["books", "games", "garden", "kitchen", "music", "toys", "tools"]

SCHEMA_V1 = """
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    email VARCHAR(40),
    external_id TEXT,
    full_name TEXT NOT NULL,
    country CHAR(2),
    signup_date DATE,
    is_active BOOLEAN DEFAULT 1
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT,
    price NUMERIC(10,2) CHECK (price >= 0),
    price_text TEXT,
    legacy_code TEXT
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
    ordered_at TIMESTAMP NOT NULL,
    shipped_at TIMESTAMP,
    status TEXT DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    total NUMERIC(12,2)
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(order_id),
    line_no INTEGER NOT NULL,
    product_id INTEGER REFERENCES products(product_id),
    quantity INTEGER NOT NULL DEFAULT 1,
    unit_price REAL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE reviews (
    review_id INTEGER PRIMARY KEY,
    product_id INTEGER REFERENCES products(product_id),
    customer_id INTEGER REFERENCES customers(customer_id),
    rating INTEGER,
    body TEXT,
    "created at" TIMESTAMP
);
CREATE TABLE returns (
    return_id INTEGER PRIMARY KEY,
    order_id INTEGER REFERENCES orders(order_id),
    reason TEXT,
    returned_at TIMESTAMP
);
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE INDEX idx_items_product ON order_items(product_id);
CREATE VIEW customer_order_totals AS
    SELECT c.customer_id, c.full_name, count(o.order_id) AS orders, sum(o.total) AS spent
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id
    GROUP BY c.customer_id, c.full_name;
"""

SCHEMA_V2 = """
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    email VARCHAR(80),
    external_id TEXT,
    full_name TEXT NOT NULL,
    country CHAR(2),
    signup_date DATE,
    is_active BOOLEAN DEFAULT 1,
    loyalty_tier TEXT DEFAULT 'bronze'
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT,
    price NUMERIC(12,2) CHECK (price >= 0),
    price_text TEXT
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(customer_id),
    ordered_at TIMESTAMP NOT NULL,
    shipped_at TIMESTAMP,
    status TEXT DEFAULT 'pending' CHECK (status IN ('new', 'pending', 'paid', 'shipped', 'cancelled')),
    total NUMERIC(12,2)
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(order_id),
    line_no INTEGER NOT NULL,
    product_id INTEGER,
    quantity INTEGER NOT NULL DEFAULT 1,
    unit_price REAL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE product_reviews (
    review_id INTEGER PRIMARY KEY,
    product_id INTEGER REFERENCES products(product_id),
    customer_id INTEGER REFERENCES customers(customer_id),
    rating INTEGER,
    body TEXT,
    "created at" TIMESTAMP
);
CREATE TABLE returns (
    return_id INTEGER PRIMARY KEY,
    order_id INTEGER REFERENCES orders(order_id),
    reason TEXT,
    returned_at TIMESTAMP
);
CREATE TABLE shipments (
    shipment_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(order_id),
    carrier TEXT,
    tracking_code TEXT UNIQUE
);
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE INDEX idx_orders_customer_date ON orders(customer_id, ordered_at);
CREATE INDEX idx_items_product ON order_items(product_id);
CREATE VIEW customer_order_totals AS
    SELECT c.customer_id, c.full_name, c.country, count(o.order_id) AS orders, sum(o.total) AS spent
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id
    WHERE o.status <> 'cancelled'
    GROUP BY c.customer_id, c.full_name, c.country;
"""


def build_shop(path: str | os.PathLike, version: int = 1) -> Path:
    """Write the demo shop database (version 1 or 2) to `path`, replacing it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    rnd = random.Random(42)
    con = sqlite3.connect(tmp)
    con.executescript(SCHEMA_V1 if version == 1 else SCHEMA_V2)
    n_customers, n_products, n_orders = (2000, 200, 8000) if version == 1 else (2300, 210, 9500)

    customers = []
    emails = []
    for i in range(1, n_customers + 1):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        email = f"{first}.{last}{i}@example.com".lower()
        missing = 0.08 if version == 1 else 0.2
        if rnd.random() < missing:
            email = None
        elif emails and rnd.random() < 0.03:
            email = rnd.choice(emails)  # the same person signed up twice
        name = f"{first} {last}" if rnd.random() > 0.01 else "   "
        signup = date(2020, 1, 1) + timedelta(days=rnd.randrange(1800))
        external = f"CRM-{i:06d}" if rnd.random() > 0.01 else f"CRM-{rnd.randint(1, i):06d}"  # a few duplicates
        row = [i, email, external, name, rnd.choice(COUNTRIES), signup.isoformat(), int(rnd.random() > 0.1)]
        if version == 2:
            row.append(rnd.choice(["bronze"] * 6 + ["silver"] * 3 + ["gold"]))
        customers.append(row)
        if email:
            emails.append(email)
    _insert(con, "customers", customers)

    products = []
    for i in range(1, n_products + 1):
        price = round(rnd.lognormvariate(3, 1), 2)
        price_text = f"{price:.2f}" if rnd.random() > 0.05 else rnd.choice(["n/a", "TBD", "12,50"])
        row = [i, f"SKU-{i:05d}", f"{rnd.choice(CATEGORIES).title()} item {i}", rnd.choice(CATEGORIES + [None]), price, price_text]
        if version == 1:
            row.append(f"L{i:04d}" if rnd.random() > 0.7 else None)
        products.append(row)
    _insert(con, "products", products)

    orders, items = [], []
    start = datetime(2024, 1, 1)
    for i in range(1, n_orders + 1):
        ordered = start + timedelta(minutes=rnd.randrange(60 * 24 * 600))
        status = rnd.choice(["new", "paid", "paid", "shipped", "shipped", "shipped", "cancelled"])
        shipped = ordered + timedelta(hours=rnd.randrange(1, 120)) if status == "shipped" else None
        if shipped and rnd.random() < 0.02:
            shipped = ordered - timedelta(days=3)  # shipped before it was ordered
        if rnd.random() < 0.005:
            ordered = datetime(2031, 1, 1) + timedelta(days=rnd.randrange(100))  # a future order
        lines = rnd.randint(1, 4)
        total = 0.0
        for line in range(1, lines + 1):
            product = rnd.randint(1, n_products) if rnd.random() > 0.01 else n_products + rnd.randint(1, 50)
            qty = rnd.choice([1, 1, 1, 2, 2, 3, 10])
            price = products[product - 1][4] if product <= n_products else 9.99
            total += qty * price
            items.append([i, line, product, qty, price])
        orders.append([i, rnd.randint(1, n_customers), ordered.isoformat(sep=" "), shipped.isoformat(sep=" ") if shipped else None, status, round(total, 2)])
    _insert(con, "orders", orders)
    _insert(con, "order_items", items)

    reviews = []
    for i in range(1, 1500 + 1):
        rating = rnd.choice([5, 5, 5, 4, 4, 3, 1, None])
        body = rnd.choice(["Great!", "ok", "", "Would buy again", None, "Broke after a week", "★★★★★ love it"])
        reviews.append([i, rnd.randint(1, n_products), rnd.randint(1, n_customers), rating, body,
                        (start + timedelta(days=rnd.randrange(600))).isoformat(sep=" ")])
    _insert(con, "reviews" if version == 1 else "product_reviews", reviews)
    if version == 2:
        shipped = [o for o in orders if o[3]]
        _insert(con, "shipments", [[i, o[0], rnd.choice(["DHL", "UPS", "USPS", None]), f"TRK{i:07d}"] for i, o in enumerate(shipped, 1)])
    con.commit()
    con.execute("ANALYZE")
    con.close()
    os.replace(tmp, path)
    return path


def _insert(con: sqlite3.Connection, table: str, rows: list[list]) -> None:
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)


DEMO_SOURCE = "demo_shop"


def run_demo(store: Store, progress: Progress | None = None) -> list[str]:
    """Build the demo, scan (and profile and diff) version 1 then version 2. Returns summary lines.

    Once per store: the demo's history is v1 then v2 then their diff, and a second `dsa demo`
    (after the first, or at the same time: it waits for it) says so instead of adding another
    v1 and v2 after it, which would make the newest two scans a change from v2 back to v1."""
    store.init()
    folder = store.path / "demo"
    folder.mkdir(exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        runs = [m for m in store.manifests() if m["connection"] == DEMO_SOURCE]
        if any(m["run_type"] == "diff" and m["status"] in ("success", "partial") for m in runs):
            return [f"the demo is already loaded in {store.label} ({len(runs)} runs of '{DEMO_SOURCE}'); "
                    "for a fresh one use another --store"]
        if runs:
            raise DsaError(f"an earlier `dsa demo` in {store.label} did not finish ({len(runs)} runs of "
                           f"'{DEMO_SOURCE}'); load the demo into another --store")
        return _load(store, folder / "shop.db", progress)


def _load(store: Store, db: Path, progress: Progress | None) -> list[str]:
    db = db.resolve()
    lines, scans = [], []
    for version in (1, 2):
        build_shop(db, version)
        save_spec(store.path, DEMO_SOURCE, {"type": "sqlite", "path": str(db)})
        config = all_sources(Config(), store.path)
        result = scan(store, config, DEMO_SOURCE, progress)
        lines.append(f"{result.run_id}  scan of shop v{version}: {result.summary()}")
        profiled = quality(store, config, DEMO_SOURCE, progress=progress)
        lines.append(f"{profiled.run_id}  quality of shop v{version}: {profiled.summary()}")
        scans.append(result.run_id)
    changes = diff(store, config, DEMO_SOURCE, from_run=scans[0], to_run=scans[1])
    lines.append(f"{changes.run_id}  diff of shop v1 -> v2: {changes.summary_line()}")
    return lines
