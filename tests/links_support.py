"""Fake systems for the links' tests: an HTTP server in a thread on 127.0.0.1:0 that records
every request and answers from a script (a status and body, a hang, or a function)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class FakeServer:
    """answers: a list consumed one per request (the last one repeats); each is a tuple
    (status, body) or the string "hang" (holds the request until `release()`), or a callable
    taking the Seen request and returning (status, body)."""

    answers: list = field(default_factory=lambda: [(200, {"ok": True})])
    seen: list[Seen] = field(default_factory=list)
    log: list | None = None  # shared between servers: (name, Seen) in arrival order
    name: str = ""

    def __post_init__(self):
        self._release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
                with fake._lock:
                    fake.seen.append(seen)
                    if fake.log is not None:
                        fake.log.append((fake.name, seen))
                    answer = fake.answers.pop(0) if len(fake.answers) > 1 else fake.answers[0]
                if answer == "hang":
                    fake._release.wait(30)
                    answer = (200, {"ok": True})
                if callable(answer):
                    answer = answer(seen)
                status, body = answer
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client died meanwhile

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start):
        self.at = start

    def __call__(self):
        return self.at


# fixtures the links' tests share (import them into the test module)
from postal.extensions import db  # noqa: E402
from tests.intake_factories import committing_client  # noqa: E402


@pytest.fixture(autouse=True)
def links_switched_on(app):
    """Events are queued only when some receiver may want them: here, as if the portal were
    switched on (tests/test_webhooks.py checks that nothing is queued when none is)."""
    from postal.outbox import events

    events.switch_on(portal=True, vnpost=True)
    yield
    events.switch_on(portal=False, vnpost=False)


@pytest.fixture
def client(app):
    return committing_client(app)


@pytest.fixture
def world(make_user, make_procedure, agency, api_token):
    agency.results_without_folder = True
    make_procedure(code="1.000001", processing_days=3, fee=8000)
    db.session.commit()
    return {"clerk": api_token(make_user("clerk")),
            "officer": api_token(make_user("agency", unit=agency))}
