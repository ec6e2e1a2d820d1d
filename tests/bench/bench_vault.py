"""What the vault and the audit log cost: run `PYTHONPATH=. python tests/bench/bench_vault.py`.

Contenders, timed alternately in the same run (median of 9):
  * resolving 50 stored sources (`all_sources`) without secrets vs with 50 vault secrets
    (decrypting each, so every command that reads the config pays this);
  * `Store.connect()` on an empty audit log vs one with 20,000 records, and a query over it.
Data is built under /work/benchdata/vault (or $DSA_BENCH_DIR) once and reused.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

from dsa import audit
from dsa.config import Config
from dsa.sources import all_sources, save_spec
from dsa.store import Store
from dsa.vault import Vault

ROOT = Path(os.environ.get("DSA_BENCH_DIR", "/work/benchdata")) / "vault"
N = 50


def median_times(a, b, repeats: int = 9) -> tuple[float, float]:
    """Medians of a and b, run alternately so a busy machine slows both alike."""
    times: tuple[list, list] = ([], [])
    for _ in range(repeats):
        for fn, out in ((a, times[0]), (b, times[1])):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def build() -> tuple[Path, Path]:
    plain, secret = ROOT / "plain", ROOT / "secret"
    if (secret / "credentials.json").exists() and (secret / "audit").exists():
        return plain, secret
    shutil.rmtree(ROOT, ignore_errors=True)
    for store in (plain, secret):
        for i in range(N):
            save_spec(store, f"pg{i}", {"type": "postgres", "host": "127.0.0.1", "user": f"u{i}", "database": "d"})
    vault = Vault(secret)
    for i in range(N):
        vault.put(f"pg{i}", "password", f"bench-password-{i}")
    for i in range(20_000):
        audit.record(secret, "connection.test", f"pg{i % N}", "ok", None, {"target": "postgres at 127.0.0.1:5432/d"})
    return plain, secret


def main() -> None:
    plain, secret = build()
    config = Config()
    t_plain, t_secret = median_times(lambda: all_sources(config, plain), lambda: all_sources(config, secret))
    print(f"all_sources, {N} sources: no secrets {t_plain * 1000:.1f} ms, {N} vault secrets {t_secret * 1000:.1f} ms, "
          f"ratio {t_secret / t_plain:.2f}x")

    def connect(store_path: Path) -> None:
        Store(store_path).connect().close()

    connect(plain), connect(secret)  # the first connect writes the store's schema files
    c_plain, c_audit = median_times(lambda: connect(plain), lambda: connect(secret))
    print(f"Store.connect(): empty audit log {c_plain * 1000:.1f} ms, 20,000 audit records {c_audit * 1000:.1f} ms, "
          f"ratio {c_audit / c_plain:.2f}x")
    con = Store(secret).connect()
    q, _ = median_times(lambda: con.execute("SELECT action, count(*) FROM audit_log GROUP BY 1").fetchall(), lambda: None)
    print(f"SELECT ... FROM audit_log GROUP BY action over 20,000 records: {q * 1000:.1f} ms")


if __name__ == "__main__":
    main()
