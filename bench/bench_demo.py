"""Time `postal demo --dossiers N` against a floor: the same rows bulk-inserted with Core.

    python bench/bench_demo.py [--dossiers 100000] [--database-url URL]

Without --database-url a fresh SQLite file in a temporary folder is used; a PostgreSQL URL's
database is emptied (DROP SCHEMA public CASCADE) before each of the two runs. The floor inserts
the very rows the demo wrote (read back into dicts beforehand, so only the insert is timed) into
a fresh database holding the same units, procedures and staff, in the same batches, and commits.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from scratch_db import scratch_database
from sqlalchemy import select, text

from postal import create_app
from postal.core.reference import load_reference_units
from postal.demo import seed_demo
from postal.demo.bulk import TABLES, insert_rows
from postal.demo.trail import Rows
from postal.demo.world import build_world
from postal.extensions import db

NOW = datetime(2026, 6, 30, 10, 0, tzinfo=UTC)  # fixed, so every run writes the same rows


def fresh(url: str):
    """An app on an empty schema holding the reference units only."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        load_reference_units(db.session)
        db.session.commit()
    return app


def time_demo(url: str, dossiers: int) -> tuple[float, Rows]:
    """Seconds for seed_demo + commit, and the rows it wrote (read back afterwards)."""
    app = fresh(url)
    with app.app_context():
        started = time.perf_counter()
        print(seed_demo(db.session, dossiers=dossiers, seed=1, now=NOW))
        db.session.commit()
        elapsed = time.perf_counter() - started
        rows = Rows()
        for name, table in TABLES.items():
            result = db.session.execute(select(table).order_by(table.c.id))
            setattr(rows, name, [dict(r._mapping) for r in result])
        db.session.remove()
        db.engine.dispose()
    return elapsed, rows


def time_floor(url: str, rows: Rows) -> float:
    """Seconds to insert `rows` with Core executemany (and commit) into a fresh database."""
    app = fresh(url)
    with app.app_context():
        build_world(db.session)  # the same units, procedures and staff, so keys line up
        db.session.commit()
        started = time.perf_counter()
        insert_rows(db.session, rows)
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with scratch_database(args.database_url or "sqlite://"):
        with tempfile.TemporaryDirectory() as tmp:
            demo_url = args.database_url or f"sqlite:///{Path(tmp) / 'demo.db'}"
            floor_url = args.database_url or f"sqlite:///{Path(tmp) / 'floor.db'}"
            demo, rows = time_demo(demo_url, args.dossiers)
            floor = time_floor(floor_url, rows)
        print(f"demo {args.dossiers} dossiers: {demo:.1f} s (floor core insert {floor:.1f} s, "
              f"ratio {demo / floor:.1f}x; {len(rows):,} rows)")


if __name__ == "__main__":
    main()
