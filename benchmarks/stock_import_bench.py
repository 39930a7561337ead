"""Stock levels through the import engine on PostgreSQL: a first load, the same file again, a recount.

``--products`` products (default 10,000) are imported as a products file, then a stock file with a
row per product at the default warehouse and at one store (2 × products rows): every item is new,
with an opening movement. The same file again must change nothing; a recount file with a tenth of
the levels changed writes one count movement per changed row. Printed per run: rows, created /
updated / unchanged, movements written, wall seconds and **CPU milliseconds per row** (this
process's ``time.process_time``: the fair figure on a shared machine), then whether the ledger
holds (``ledger_drift`` empty: every level equals the sum of its movements).

    .venv/bin/python benchmarks/stock_import_bench.py --postgres-url postgres://postgres@127.0.0.1:5432/rapport_bench

The database is dropped and created by the script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scratch_db import recreate_database, setup_django

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rapport_stock_bench"


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run(path: Path, kind: str) -> dict[str, Any]:
    from rapport.core.actor import Actor
    from rapport.imports import services
    from rapport.inventory.models import StockMovement

    before = StockMovement.objects.count()
    wall, cpu = time.monotonic(), time.process_time()
    result = services.import_file(path, kind=kind, actor=Actor.system("bench"))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    rows = result.processed_rows
    return {
        "rows": rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "movements": StockMovement.objects.count() - before,
        "wall_s": round(wall, 2),
        "cpu_ms_per_row": round(1000 * cpu / max(rows, 1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    args = parser.parse_args()
    recreate_database(args.postgres_url)
    env = {**os.environ, "DATABASE_URL": args.postgres_url, "PYTHONPATH": str(Path(__file__).parent.parent / "src")}
    subprocess.run([sys.executable, "-m", "rapport", "migrate", "-v", "0"], env=env, check=True)
    setup_django(args.postgres_url)

    from rapport.core.actor import Actor
    from rapport.customers.services import create_store
    from rapport.inventory.services import ledger_drift

    create_store(data={"code": "sh-01", "name": "Shanghai"}, actor=Actor.system("bench"))
    skus = [f"P{n:06d}" for n in range(args.products)]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        products = _write(
            work / "products.csv", "sku,name,price", [f"{s},Product {s},{10 + n % 90}" for n, s in enumerate(skus)]
        )
        _run(products, "products")
        levels = [
            f"{s},{place},{(n * 7) % 200},{7 + n % 14},{20 + n % 30},{5 + n % 40}.50"
            for n, s in enumerate(skus)
            for place in ("", "sh-01")
        ]
        first = _write(work / "stock.csv", "sku,location,on_hand,lead_time_days,reorder_quantity,unit_cost", levels)
        recount = [
            f"{s},{place},{(n * 7) % 200 + (3 if n % 10 == 0 else 0)}"
            for n, s in enumerate(skus)
            for place in ("", "sh-01")
        ]
        second = _write(work / "recount.csv", "sku,location,on_hand", recount)
        report = {
            "products": args.products,
            "first load": _run(first, "stock"),
            "same file again": _run(first, "stock"),
            "recount (10 % changed)": _run(second, "stock"),
            "ledger drift": len(ledger_drift()),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
