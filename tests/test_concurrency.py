"""Writers queue, they never fail: many phones posting at once through bearer tokens all get
their answer (on SQLite a writing request takes the write lock before its first read)."""

from __future__ import annotations

import threading

from flask.testing import FlaskClient
from sqlalchemy import func, select

from postal.extensions import db
from postal.models import AuditEntry

THREADS = 8
EACH = 15


def test_concurrent_bearer_token_writes_all_succeed(app, make_user, api_token):
    headers = api_token(make_user("courier"))
    db.session.commit()
    statuses: list[int] = []
    lock = threading.Lock()

    def phone(n: int) -> None:
        client = FlaskClient(app)  # a plain client: each request pushes its own app context
        for i in range(EACH):
            # an unknown barcode: refused, but the batch is still audited (a write)
            response = client.post("/api/v1/scans", headers=headers, json=[{
                "id": f"phone{n:02d}-{i:04d}", "barcode": "RR000000000XX", "event": "pickup",
                "at": "2026-03-02T08:00:00+07:00"}])
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * (THREADS * EACH)
    db.session.rollback()
    audited = db.session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "scan_batch"))
    assert audited == THREADS * EACH
