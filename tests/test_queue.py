"""The task queue (jobs/queue.py): Huey on SQLite or Redis carrying job ids, job state and
progress in the database for every web worker, and workers that die mid-import."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import ConfigError, load
from postal import create_app
from postal.extensions import db
from postal.jobs import queue, store
from postal.models import Dossier, ImportBatch, Job, JobState, utcnow
from tests.conftest import csrf_from
from tests.test_import import _row, write_csv

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")


@pytest.fixture
def queue_url(tmp_path):
    """Override per test: where the app under test queues its jobs."""
    return f"sqlite:///{tmp_path / 'queue.db'}"


@pytest.fixture
def app_config(queue_url):
    return {"QUEUE_URL": queue_url, "QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}"}


@pytest.fixture
def procedure(make_procedure):
    return make_procedure(code="1.000001", processing_days=3)


@pytest.fixture
def manager(make_user, login, procedure):
    user = make_user("manager")
    login(user)
    return user


def rows(centre, n: int, prefix: str) -> list[dict]:
    return [_row(code=f"{prefix}-{i:05d}", procedure_code="1.000001", agency_code="",
                 unit_code=centre.code) for i in range(n)]


def upload(client, path: Path) -> str:
    """Upload through the page as the logged-in manager; the job's status URL."""
    page = client.get("/office/import")
    response = client.post("/office/import", data={
        "csrf_token": csrf_from(page), "file": (path.open("rb"), path.name)},
        content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"] + "/status"


def other_instance(app, client):
    """A second app on the same database and queue, as another gunicorn worker is, with the
    same logged-in session cookie."""
    other = create_app({"TESTING": True, **{k: app.config[k] for k in (
        "SQLALCHEMY_DATABASE_URI", "QUEUE_URL", "QUEUE_NAME")}})
    polling = other.test_client()
    polling.set_cookie("session", client.get_cookie("session").value)
    return other, polling


def poll(polling, url, until, *, seconds=20.0) -> list[dict]:
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = polling.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        seen.append(response.get_json())
        if until(seen[-1]):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job never got there: {seen[-1]}")


def count(model, *where) -> int:
    n = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.commit()  # let go of SQLite's snapshot
    return n


def _consume_and_poll(app, client, centre, tmp_path, prefix):
    status_url = upload(client, write_csv(tmp_path / "in.csv", rows(centre, 60, prefix)))
    other, polling = other_instance(app, client)
    first = polling.get(status_url).get_json()
    assert first["state"] in ("queued", "running", "done")  # the row, before any worker ended
    consumer = queue.consumer(app, workers=1, embedded=True)
    consumer.start()
    try:
        seen = poll(polling, status_url, lambda s: s["finished"])
    finally:
        consumer.stop(graceful=True)
        with other.app_context():
            db.engine.dispose()
    done = [s["done"] for s in seen]
    assert done == sorted(done)  # progress only goes forward, whichever worker answers
    assert seen[-1]["state"] == "done" and seen[-1]["dossiers"] == 60, seen[-1]
    assert seen[-1]["done"] == seen[-1]["total"] == 60
    assert count(Dossier, Dossier.code.like(f"{prefix}-%")) == 60


def test_an_upload_goes_through_the_sqlite_queue_and_another_instance_sees_its_progress(
        app, client, centre, manager, tmp_path):
    _consume_and_poll(app, client, centre, tmp_path, "SQ")
    assert (tmp_path / "queue.db").exists()


@pytest.mark.parametrize("queue_url", [REDIS_URL])
def test_the_same_code_runs_on_redis(app, client, centre, manager, tmp_path, queue_url):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(queue_url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at " + queue_url)
    huey = queue.for_app(app).huey
    try:
        _consume_and_poll(app, client, centre, tmp_path, "RQ")
    finally:
        huey.storage.flush_all()


def test_progress_written_by_a_worker_is_read_by_another_instance_at_once(
        app, client, manager):
    job_id = queue.submit(app, db.session, "import", manager, {"path": "/nowhere.csv",
                                                              "filename": "x.csv"})
    reporter = store.Reporter(db.engine, job_id, lease=timedelta(seconds=60))
    assert reporter.claim() is not None
    reporter.progress("import", 40, 100)
    other, polling = other_instance(app, client)
    status = polling.get(f"/office/import/{job_id}/status").get_json()
    assert (status["state"], status["stage"], status["done"], status["total"]) == (
        "running", "import", 40, 100)
    assert status["finished"] is False
    with other.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("queue_url", ["memory"])
def test_a_job_of_a_dead_worker_is_failed_and_a_live_ones_is_left(app, manager, queue_url):
    def running(worker, beat_ago):
        job = Job(id=uuid.uuid4().hex, kind="import", user_id=manager.id,
                  state=JobState.RUNNING, worker=worker, params={"path": "/nowhere.csv"},
                  heartbeat_at=utcnow() - beat_ago)
        db.session.add(job)
        db.session.commit()
        return job.id

    host = socket.gethostname()
    live = running(f"{host}:{os.getpid()}", timedelta(seconds=1))
    far_alive = running("elsewhere:1", timedelta(seconds=5))
    far_silent = running("elsewhere:2", timedelta(minutes=5))
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    gone = running(f"{host}:{exited.pid}", timedelta(seconds=1))
    assert sorted(queue.sweep(app)) == sorted([far_silent, gone])
    db.session.commit()  # the sweep wrote in transactions of its own
    states = {j.id: j.state for j in db.session.scalars(select(Job))}
    assert states == {live: "running", far_alive: "running", far_silent: "failed",
                      gone: "failed"}
    assert db.session.get(Job, gone).error["message"] == store.WORKER_DIED


def test_the_worker_command_refuses_the_memory_queue(app, runner):
    app.config["QUEUE_URL"] = "memory"
    app.extensions.pop(queue.EXTENSION, None)
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 1 and "QUEUE_URL=memory" in result.output


def test_queue_settings_are_checked_and_the_default_sits_beside_the_database(tmp_path):
    with pytest.raises(ConfigError, match="QUEUE_URL"):
        load({"SECRET_KEY": "x", "QUEUE_URL": "amqp://broker"}, environ={})
    assert load({"SECRET_KEY": "x"}, environ={"QUEUE_URL": "redis://h:6379/1"})[
        "QUEUE_URL"] == "redis://h:6379/1"
    assert queue.default_sqlite_path(f"sqlite:///{tmp_path}/postal.db", "/inst") == (
        tmp_path / "postal-queue.db")
    assert queue.default_sqlite_path("postgresql+psycopg://h/db", "/inst") == Path(
        "/inst/queue.db")


# -- a worker killed mid-import ----------------------------------------------------------------

def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "postal.cli", "worker", "--workers", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _job_row(job_id: str) -> Job:
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    db.session.commit()
    return job


def _wait_for(job_id, until, *, seconds=30.0) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = _job_row(job_id)
        if until(job):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job never got there: {job.state} {job.stage} {job.done}")


def test_a_worker_killed_mid_import_leaves_the_job_failed_and_nothing_written(
        app, client, centre, manager, tmp_path):
    db.session().expire_on_commit = False
    env = {k: v for k, v in os.environ.items()
           if k not in ("TEST_DATABASE_URL", "POSTAL_ENV", "DATABASE_URL")}
    env.update(POSTAL_ENV="development", SECRET_KEY="test-only-not-secret",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               QUEUE_URL=app.config["QUEUE_URL"], QUEUE_NAME=app.config["QUEUE_NAME"],
               IMPORT_CHUNK_ROWS="10", IMPORT_FOLDER=str(tmp_path / "imports"))
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")
    status_url = upload(client, write_csv(tmp_path / "big.csv", rows(centre, 3000, "K")))
    job_id = status_url.split("/")[-2]
    first = _worker(env)
    try:
        _wait_for(job_id, lambda j: j.state == JobState.RUNNING and j.stage == "import"
                  and j.done >= 30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    half = _job_row(job_id)
    assert half.state == JobState.RUNNING and half.done < 3000  # killed half way
    assert count(Dossier, Dossier.code.like("K-%")) >= 30  # its chunks are in the database
    second = queue.start_embedded(app)  # another worker, as `postal serve` starts one
    try:
        job = _wait_for(job_id, lambda j: j.state != JobState.RUNNING)
    finally:
        second.stop(graceful=True)
    assert job.state == JobState.FAILED and job.error["message"] == store.WORKER_DIED
    assert count(Dossier, Dossier.code.like("K-%")) == 0
    assert count(ImportBatch) == 0
    assert list((tmp_path / "imports").iterdir()) == []  # the upload is gone too
    status = client.get(status_url).get_json()
    assert status["state"] == "failed" and status["finished"]
