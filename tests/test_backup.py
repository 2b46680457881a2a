"""`postal backup` copies the live SQLite database (even mid-write) and `postal restore` puts a
backup back, keeping the replaced database aside; PostgreSQL is pointed at pg_dump."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postal import create_app
from postal.extensions import db
from postal.models import Dossier, OrgUnit, Procedure, UnitKind
from tests.factories import make_dossier


@pytest.fixture
def live(tmp_path):
    """An app on its own SQLite file with two dossiers (independent of TEST_DATABASE_URL)."""
    path = tmp_path / "live.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    app.instance_path = str(tmp_path / "instance")  # default backups land here, not in the repo
    with app.app_context():
        db.create_all()
        unit = OrgUnit(code="C1", name="Trung tâm 1", name_key="trung tam 1",
                       kind=UnitKind.CENTRE, path="/C1/")
        db.session.add(unit)
        procedure = Procedure(code="P1", name="Thủ tục", search_key="thu tuc")
        db.session.add(procedure)
        db.session.commit()
        for n in (1, 2):
            make_dossier(unit, procedure, code=f"C1-250303-000{n}")
        app.unit, app.procedure, app.path = unit, procedure, path
        yield app
        db.session.remove()
        db.engine.dispose()


def codes(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT code FROM dossier ORDER BY code")]
    finally:
        conn.close()


def test_a_backup_is_an_intact_copy_of_the_committed_data(live, tmp_path):
    out = tmp_path / "b" / "copy.db"
    result = live.test_cli_runner().invoke(args=["backup", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output and "2 dossiers" in result.output
    assert codes(out) == ["C1-250303-0001", "C1-250303-0002"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.db"]  # no -wal, no -shm
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_the_backup_runs_while_a_writer_holds_the_database(live, tmp_path):
    writer = sqlite3.connect(live.path, timeout=1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # the write lock, as a busy request holds it
    writer.execute("UPDATE dossier SET code = 'CHANGED' WHERE code = 'C1-250303-0001'")
    out = tmp_path / "during.db"
    result = live.test_cli_runner().invoke(args=["backup", "-o", str(out)])
    writer.execute("COMMIT")
    writer.close()
    assert result.exit_code == 0, result.output
    # the copy holds the last committed state, never half a transaction
    assert codes(out) == ["C1-250303-0001", "C1-250303-0002"]
    assert codes(live.path) == ["C1-250303-0002", "CHANGED"]


def test_the_default_backup_goes_to_the_instance_folder(live):
    result = live.test_cli_runner().invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    written = list((Path(live.instance_path) / "backups").iterdir())
    # one self-contained file: no -wal or -shm beside it
    assert len(written) == 1 and written[0].name.startswith("postal-")
    assert str(written[0]) in result.output


def test_a_backup_never_overwrites_a_file(live, tmp_path):
    out = tmp_path / "exists.db"
    out.write_bytes(b"keep me")
    result = live.test_cli_runner().invoke(args=["backup", "-o", str(out)])
    assert result.exit_code == 1 and "exists already" in result.output
    assert out.read_bytes() == b"keep me"


def test_restore_brings_back_the_backup_and_keeps_the_replaced_database(live, tmp_path):
    runner = live.test_cli_runner()
    out = tmp_path / "monday.db"
    assert runner.invoke(args=["backup", "-o", str(out)]).exit_code == 0
    make_dossier(live.unit, live.procedure, code="C1-250304-0001")  # written after the backup
    client = live.test_client()
    assert client.get("/api/v1/public/status", query_string={
        "code": "C1-250304-0001", "phone_last4": "3456"}).status_code == 200

    result = runner.invoke(args=["restore", str(out), "--yes"])
    assert result.exit_code == 0, result.output
    assert codes(live.path) == ["C1-250303-0001", "C1-250303-0002"]
    kept = list(tmp_path.glob("live.db.before-restore-*"))
    assert len(kept) == 1 and str(kept[0]) in result.output
    assert "C1-250304-0001" in codes(kept[0])
    # the running app serves the restored data on its next request
    db.session.remove()
    assert client.get("/api/v1/public/status", query_string={
        "code": "C1-250304-0001", "phone_last4": "3456"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 2


def test_restore_asks_first_and_a_no_changes_nothing(live, tmp_path):
    runner = live.test_cli_runner()
    out = tmp_path / "old.db"
    runner.invoke(args=["backup", "-o", str(out)])
    make_dossier(live.unit, live.procedure, code="C1-250304-0009")
    result = runner.invoke(args=["restore", str(out)], input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert "C1-250304-0009" in codes(live.path)
    assert not list(tmp_path.glob("live.db.before-restore-*"))


@pytest.mark.parametrize("content", ["not a database", "empty sqlite"])
def test_restore_refuses_a_file_that_is_not_a_postal_database(live, tmp_path, content):
    bad = tmp_path / "bad.db"
    if content == "empty sqlite":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE other (x)")
        conn.close()
    else:
        bad.write_bytes(b"hello " * 1000)
    before = live.path.read_bytes()
    result = live.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code == 1
    assert "not a postal database" in result.output or "not a usable" in result.output
    assert live.path.read_bytes() == before


def test_postgresql_is_pointed_at_pg_dump(tmp_path):
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
    result = app.test_cli_runner().invoke(args=["backup", "-o", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "pg_dump" in result.output and "docs/deployment.md" in result.output
    assert not (tmp_path / "x.db").exists()
