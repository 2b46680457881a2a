"""Time importing 100,000 CSV rows and measure the process's peak memory.

    python bench/bench_import.py [--rows 100000] [--url sqlite:////tmp/bench-import.db]
    python bench/bench_import.py --tracemalloc   # Python allocations too (slower)

The database is emptied of dossiers first (a fresh SQLite file by default). Peak memory is the
process's maximum resident set (getrusage), which includes the interpreter and the app.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from postal import create_app
from postal.core.reference import load_reference_units
from postal.core.time import TZ
from postal.deadlines.office import calendar_for
from postal.extensions import db
from postal.reporting.import_format import COLUMNS
from postal.reporting.imports import import_dossiers

START = datetime(2024, 1, 2, 8, tzinfo=TZ)


def write_file(path: Path, rows: int, seed: int = 7) -> None:
    """A plausible history: half resolved, most of those returned, some rated or withdrawn."""
    rng = random.Random(seed)
    communes = ["18304", "18073", "18100", "18115", "18118"]  # in Hà Tĩnh
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(rows):
            received = START + timedelta(minutes=rng.randrange(0, 500 * 24 * 60))
            due = received + timedelta(days=rng.choice((1, 3, 5, 10)))
            resolved = returned = closed = rated = None
            status = rating = ""
            fate = rng.random()
            if fate < 0.03:
                status, closed = "withdrawn", received + timedelta(days=2)
            elif fate < 0.8:
                resolved = received + (due - received) * rng.uniform(0.3, 1.3)
                if rng.random() < 0.85:
                    returned = resolved + timedelta(hours=rng.uniform(2, 72))
                    if rng.random() < 0.4:
                        rating, rated = rng.randint(1, 5), returned + timedelta(hours=1)
            iso = lambda t: t.isoformat() if t else ""  # noqa: E731
            out.writerow([
                f"BI-{i:07d}", f"BENCH.{i % 30:03d}", f"Thủ tục thử {i % 30}", "Lĩnh vực thử",
                f"CQ-{i % 6}", communes[i % len(communes)], ("counter", "online",
                                                             "home_pickup")[i % 3],
                f"Công dân {i}", f"09{i:08d}", communes[(i + 1) % len(communes)],
                iso(received), iso(due), iso(resolved), iso(returned),
                "home" if i % 6 == 0 else "counter", status, iso(closed), rating, iso(rated),
            ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default="sqlite:////tmp/bench-import.db")
    parser.add_argument("--file", default="/tmp/bench-import.csv")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    path = Path(args.file)
    if not path.exists() or sum(1 for _ in path.open(encoding="utf-8")) != args.rows + 1:
        print(f"writing {args.rows:,} rows to {path}…", file=sys.stderr)
        write_file(path, args.rows)
    if args.url.startswith("sqlite:///"):
        Path(args.url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url})
    with app.app_context():
        if not args.url.startswith("sqlite"):
            db.drop_all()
        db.create_all()
        load_reference_units(db.session)
        db.session.commit()
        calendar = calendar_for(db.session, app.config)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if args.tracemalloc:
            tracemalloc.start()
        started = time.perf_counter()
        result = import_dossiers(db.session, path, calendar=calendar, now=datetime.now(UTC))
        db.session.commit()
        seconds = time.perf_counter() - started
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = f", Python allocations peak {traced:.0f} MB" if traced is not None else ""
    print(f"{args.url.split(':')[0]}: imported "
          f"{result.dossiers:,} rows in {seconds:.1f} s ({result.dossiers / seconds:,.0f} rows/s);"
          f" peak RSS {peak:.0f} MB (before the import {before:.0f} MB){extra}")


if __name__ == "__main__":
    main()
