"""Load on loopback through gunicorn: the citizen's status (page by QR token, API by code and
phone digits) and the couriers' scans, under concurrent clients, beside a floor — a bare Flask
route (bench/bare_app.py) served by the same gunicorn setup.

    python bench/bench_load.py [--database-url URL] [--clients 16] [--seconds 10]
                               [--max-requests 5000] [--dossiers 20000]

Default database: a fresh SQLite file in a temporary directory. With --database-url pointing at
PostgreSQL, its public schema is DROPPED and rebuilt: use a scratch database. Each phase runs
for at most --seconds or --max-requests, after a one-second warm-up; every client is a thread
with its own keep-alive connection (http.client), on 127.0.0.1 only. The public rate limit is
raised for the run (all clients share one address) but the limiter still counts every lookup.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scratch_db import scratch_database
from sqlalchemy import create_engine, insert, text

from postal import ROOT, create_app
from postal.core import accounts
from postal.core.codes import format_dossier_code, make_s10
from postal.core.reference import add_unit
from postal.dossiers.catalogue import upsert_procedure
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Applicant, Dossier, Item, UnitKind

SECRET = "bench-load-not-a-secret-key-0123456789"
RECEIVED = datetime(2025, 7, 7, 1, 0, tzinfo=UTC)
GUNICORN = [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
            "--log-level", "warning"]
SCANS_PER_REQUEST = 5


def prepare(url: str, dossiers: int) -> dict:
    """Schema, units, a courier with a bearer token, and `dossiers` accepted dossiers."""
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    with app.app_context():
        db.create_all()
        province = add_unit(db.session, code="42", name="Tỉnh Hà Tĩnh",
                            kind=UnitKind.PROVINCE, parent=None)
        centre = add_unit(db.session, code="TTHCC-42", name="Trung tâm Phục vụ HCC Hà Tĩnh",
                          kind=UnitKind.CENTRE, parent=province, ident_code="000.00.42.H26")
        agency = add_unit(db.session, code="STP-42", name="Sở Tư pháp", kind=UnitKind.AGENCY,
                          parent=province)
        courier = accounts.create_user(db.session, "courier", "bench-password-1", "courier",
                                       centre)
        procedure = upsert_procedure(db.session, code="1.000001", name="Cấp bản sao trích lục",
                                     agency=agency, processing_days=3)
        db.session.flush()
        phones = [f"09{n:08d}" for n in range(dossiers)]
        applicant_ids = db.session.scalars(insert(Applicant).returning(Applicant.id), [
            {"full_name": f"Công dân {n}", "phone": phones[n], "search_key": f"cong dan {n}"}
            for n in range(dossiers)]).all()
        rows = [{
            "code": format_dossier_code(centre.dossier_prefix, RECEIVED.date(), n + 1),
            "unit_id": centre.id, "token": secrets.token_urlsafe(16), "agency_id": agency.id,
            "procedure_id": procedure.id, "applicant_id": applicant_ids[n],
            "state": State.ACCEPTED, "channel": "counter", "return_method": "counter",
            "documents": [], "missing_documents": [], "created_at": RECEIVED,
            "received_at": RECEIVED, "due_at": RECEIVED + timedelta(days=3),
        } for n in range(dossiers)]
        ids = db.session.scalars(insert(Dossier).returning(Dossier.id), rows).all()
        numbers = [make_s10("RH", n + 1) for n in range(dossiers)]
        db.session.execute(insert(Item), [{
            "number": number, "dossier_id": dossier_id, "kind": "folder",
            "created_at": RECEIVED, "holder_unit_id": centre.id, "held_since": RECEIVED,
        } for number, dossier_id in zip(numbers, ids, strict=True)])
        token, _ = accounts.issue_token(db.session, courier, hours=4)
        db.session.commit()
        db.engine.dispose()
    return {
        "lookups": [(r["token"], r["code"], phones[n][-4:]) for n, r in enumerate(rows)],
        "items": numbers, "courier_token": token, "centre": "TTHCC-42",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str, env: dict, extra: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen([*GUNICORN, *extra, "-b", f"127.0.0.1:{port}", target],
                               cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn {target} exited with {process.returncode}") from None
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn {target} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def drive(port: int, make_request, *, clients: int, seconds: float, max_requests: int) -> dict:
    """Run `clients` threads; each sends make_request(n) -> (method, path, body, headers)."""
    counter = iter(range(10**9))
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    warm_until = time.monotonic() + 1.0
    state = {"start": None, "stop": None}

    def next_n():
        with lock:
            return next(counter)

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            now = time.monotonic()
            if state["stop"] is not None and now >= state["stop"]:
                break
            n = next_n()
            method, path, body, headers = make_request(n)
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            took = time.perf_counter() - began
            if time.monotonic() < warm_until:
                continue  # warm-up: connections, caches, the workers' first imports
            with lock:
                if state["start"] is None:
                    state["start"] = time.monotonic()
                    state["stop"] = state["start"] + seconds
                if len(latencies) >= max_requests:
                    state["stop"] = min(state["stop"], time.monotonic())
                    break
                latencies.append(took)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(1e-9, min(time.monotonic(), state["stop"] or time.monotonic())
                  - (state["start"] or time.monotonic()))
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {
        "requests": len(latencies), "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1), "p50_ms": round(pick(0.50), 1),
        "p95_ms": round(pick(0.95), 1), "p99_ms": round(pick(0.99), 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0,
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--dossiers", type=int, default=20_000)
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="postal-load-")
    url = args.database_url or f"sqlite:///{Path(scratch.name) / 'load.db'}"
    with scratch_database(url):
        backend = url.split(":", 1)[0].split("+", 1)[0]
        print(f"preparing {args.dossiers} dossiers on {backend}…", flush=True)
        data = prepare(url, args.dossiers)
        lookups, items = data["lookups"], data["items"]
        env = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "POSTAL_ENV": "development",
               "PUBLIC_RATE_LIMIT": "100000000 per minute"}
        limits = {"clients": args.clients, "seconds": args.seconds,
                  "max_requests": args.max_requests}
        results = {}

        bare, port = serve("bare_app:app", env, ["--pythonpath", str(ROOT / "bench")])
        try:
            results["floor: bare Flask GET /"] = drive(
                port, lambda n: ("GET", "/", None, {}), **limits)
        finally:
            stop(bare)

        app, port = serve("wsgi:app", env, [])
        try:
            def page(n):
                token = lookups[(n * 7919) % len(lookups)][0]
                return "GET", f"/public/status?token={token}", None, {}

            def api(n):
                _, code, last4 = lookups[(n * 7919) % len(lookups)]
                return ("GET", f"/api/v1/public/status?code={code}&phone_last4={last4}", None,
                        {"Accept": "application/json"})

            def scans(n):
                start = (n * SCANS_PER_REQUEST) % len(items)
                at = datetime.now(UTC).isoformat()
                batch = [{"id": str(uuid.uuid4()), "barcode": items[(start + k) % len(items)],
                          "event": "pickup", "at": at, "unit_code": data["centre"]}
                         for k in range(SCANS_PER_REQUEST)]
                return ("POST", "/api/v1/scans", json.dumps(batch),
                        {"Content-Type": "application/json",
                         "Authorization": f"Bearer {data['courier_token']}"})

            results["public status page (QR token)"] = drive(port, page, **limits)
            results["GET /api/v1/public/status (code + phone)"] = drive(port, api, **limits)
            results[f"POST /api/v1/scans ({SCANS_PER_REQUEST} pickups a request)"] = drive(
                port, scans, **limits)
        finally:
            stop(app)
        engine = create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM event WHERE kind = 'pickup'")).scalar()
        engine.dispose()
        scratch.cleanup()

        print(f"\ngunicorn -w 2 -k gthread --threads 4, {args.clients} clients on loopback, "
              f"{backend}, {os.cpu_count()} CPUs\n")
        print(f"| {'route':<45} | req | req/s | p50 ms | p95 ms | p99 ms | statuses |")
        print(f"|{'-' * 47}|-----|-------|--------|--------|--------|----------|")
        for name, r in results.items():
            print(f"| {name:<45} | {r['requests']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} "
                  f"| {r['p99_ms']} | {r['statuses']} |")
        print(f"\npickup events stored by the scans phase: {stored} "
              f"({SCANS_PER_REQUEST} sent a request; an item already held is refused, not stored)")


if __name__ == "__main__":
    main()
