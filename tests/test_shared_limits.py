"""Two app servers, one Redis: the budgets hold across both (what several gunicorn workers or
machines behind one address see). Each server is its own process, with its own limiter, on
loopback; Redis is the one on 127.0.0.1:6379 (CI has it), under a key prefix of this test."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest

from postal.dossiers.lifecycle import State
from postal.extensions import db
from tests.conftest import PASSWORD
from tests.factories import make_dossier

REDIS = "redis://127.0.0.1:6379/0"
SERVER = r"""
import json, sys
from werkzeug.serving import make_server
from postal import create_app
app = create_app(json.loads(sys.argv[1]))
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture
def two_servers(app, database_url):
    """Start two servers on the test's database and one Redis; yield their base URLs."""
    db.session.commit()
    settings = {
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": REDIS, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "PUBLIC_RATE_LIMIT": "4 per minute", "PUBLIC_CODE_FAILURES": "100 per hour",
        "LOGIN_RATE_LIMIT": "6 per minute", "LOGIN_MAX_FAILURES": 3,
    }
    processes = [subprocess.Popen([sys.executable, "-c", SERVER, json.dumps(settings)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        yield [f"http://127.0.0.1:{p.stdout.readline().strip()}" for p in processes]
    finally:
        for p in processes:
            p.terminate()
            p.wait(timeout=10)
            p.stdout.close()


def _ask(url: str, *, body: dict | None = None, address: str = "10.9.0.1") -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_the_public_lookup_budget_is_one_across_servers(two_servers, centre, make_procedure):
    a, b = two_servers
    token = make_dossier(centre, make_procedure(), state=State.PROCESSING).token
    db.session.commit()
    path = f"/api/v1/public/status?token={token}"
    assert [_ask(a + path), _ask(b + path), _ask(a + path), _ask(b + path)] == [200] * 4
    assert _ask(a + path) == 429 and _ask(b + path) == 429


def test_the_login_budget_and_the_lock_out_hold_across_servers(two_servers, make_user):
    a, b = two_servers
    user = make_user("clerk")
    db.session.commit()
    wrong = {"username": user.username, "password": "not-the-password"}
    # three failures spread over both servers lock the account everywhere
    assert [_ask(s + "/api/v1/auth/token", body=wrong) for s in (a, b, a)] == [401] * 3
    right = {"username": user.username, "password": PASSWORD}
    assert _ask(b + "/api/v1/auth/token", body=right) == 423
    assert _ask(a + "/api/v1/auth/token", body=right) == 423
    # six attempts in the minute from one address, over both servers: the seventh is refused
    other = {"username": "someone-else", "password": "x"}
    assert _ask(b + "/api/v1/auth/token", body=other) == 401
    assert _ask(a + "/api/v1/auth/token", body=other) == 429
    assert _ask(b + "/api/v1/auth/token", body=other) == 429
