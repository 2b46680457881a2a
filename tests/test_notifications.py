"""The outbox: messages written with the state change they announce, sent by the worker
outside any request, retried with backoff, never lost — not even when the worker dies."""

from __future__ import annotations

import email
import logging
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email.policy import default as email_policy
from pathlib import Path

import delivery_support
import pytest
from delivery_support import data_url, now, png, today
from sqlalchemy import select

from postal.delivery import proof, runs
from postal.dossiers.decisions import mark_result_ready
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Notification, NotificationStatus, ReturnMethod
from postal.outbox import worker
from postal.outbox.messages import compose
from postal.outbox.senders import LogSender, SmtpSender, build_sender
from postal.outbox.worker import backoff, send_due

town = delivery_support.town
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self, start):
        self.at = start

    def __call__(self):
        return self.at


class Flaky:
    """Fails `times` times, then delivers."""

    def __init__(self, times):
        self.times, self.sent = times, []

    def send(self, to, subject, body):
        if self.times:
            self.times -= 1
            raise ConnectionError("gateway down")
        self.sent.append((to, body))


class Crash(BaseException):
    """The process dying: not an error the worker may catch."""


class Dies:
    def send(self, to, subject, body):
        raise Crash


def _rows():
    db.session.expire_all()
    return db.session.scalars(select(Notification).order_by(Notification.id)).all()


def test_a_decision_at_the_agency_writes_its_message_in_the_same_transaction(town):
    t = town
    d = t.dossier(state=State.PROCESSING, result=False, return_method=ReturnMethod.COUNTER)
    db.session.commit()
    officer = t.officer
    mark_result_ready(db.session, officer, d, now=now())
    db.session.rollback()  # the decision fails to commit: no message either
    assert _rows() == []
    d = db.session.get(type(d), d.id)
    assert d.state == State.PROCESSING
    mark_result_ready(db.session, officer, d, now=now())
    db.session.commit()
    [row] = _rows()
    assert (row.kind, row.recipient, row.status) == ("result_ready", "0912345678",
                                                     NotificationStatus.PENDING)
    subject, body = compose(row)
    assert d.code in body and "đến nhận tại" in body  # a counter return: come and collect


def test_no_phone_no_message(town):
    t = town
    d = t.dossier(state=State.PROCESSING, result=False, phone=None)
    mark_result_ready(db.session, t.officer, d, now=now())
    db.session.commit()
    assert _rows() == []


def test_the_door_writes_out_for_delivery_delivered_and_failed_messages(town):
    t = town
    a, b = t.dossier(cod_amount=20000), t.dossier(street="4 Hàm Nghi")
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[a.code, b.code])
    runs.start_run(db.session, t.courier, run, now())
    proof.record_delivery(db.session, t.courier, a, proof.Proof(
        "Trần Văn Hùng", "spouse", signature=png()), now())
    proof.record_failed_attempt(db.session, t.courier, b, "wrong_address", now())
    db.session.commit()
    by_kind = {(r.dossier_id, r.kind): r for r in _rows()}
    assert set(by_kind) == {(a.id, "out_for_delivery"), (b.id, "out_for_delivery"),
                            (a.id, "delivered"), (b.id, "delivery_failed")}
    assert "20.000 đ" in compose(by_kind[(a.id, "out_for_delivery")])[1]
    assert "Trần Văn Hùng" in compose(by_kind[(a.id, "delivered")])[1]
    failed = compose(by_kind[(b.id, "delivery_failed")])[1]
    assert "Sai hoặc không tìm thấy địa chỉ" in failed and "giao lại" in failed


def _scan(client, headers, dossier, event, **extra):
    row = {"id": f"scan-{dossier.id}-{event}", "barcode": town_result(dossier), "event": event,
           "at": now().isoformat(), **extra}
    response = client.post("/api/v1/scans", headers=headers, json=[row])
    assert response.status_code == 200, response.get_json()
    return response.get_json()[0]


def town_result(dossier) -> str:
    return delivery_support.Town.result(dossier).number


def test_scans_from_the_phone_write_the_same_messages_as_the_door_page(town, client,
                                                                     api_token):
    t = town
    a, b = t.dossier(), t.dossier(street="4 Hàm Nghi")
    db.session.commit()
    headers = api_token(t.courier)
    for d in (a, b):
        assert _scan(client, headers, d, "out_for_delivery")["status"] == "accepted"
    assert _scan(client, headers, a, "delivered", recipient="Lê Văn Tám")["status"] == "accepted"
    assert _scan(client, headers, b, "delivery_failed", note="not_home")["status"] == "accepted"
    by_kind = {(r.dossier_id, r.kind): r for r in _rows()}
    assert set(by_kind) == {(a.id, "out_for_delivery"), (b.id, "out_for_delivery"),
                            (a.id, "delivered"), (b.id, "delivery_failed")}
    failed = compose(by_kind[(b.id, "delivery_failed")])[1]
    assert "(Không có người nhận)" in failed and "giao lại" in failed
    # the same scans sent again are duplicates: no second message
    assert _scan(client, headers, a, "delivered", recipient="Lê Văn Tám")["status"] == "duplicate"
    assert len(_rows()) == 4


def test_a_phone_syncing_a_whole_delivery_at_once_sends_only_the_latest_news(town, client,
                                                                           api_token):
    t = town
    a, b = t.dossier(), t.dossier(street="4 Hàm Nghi")
    db.session.commit()
    start = now() - timedelta(minutes=30)
    rows = [{"id": f"sync-{d.id}-{n}", "barcode": town_result(d), "event": event,
             "at": (start + timedelta(minutes=n)).isoformat(), **extra}
            for d, steps in ((a, [("out_for_delivery", {}),
                                  ("delivered", {"recipient": "Lê Văn Tám"})]),
                             (b, [("out_for_delivery", {}),
                                  ("delivery_failed", {"note": "moved"})]))
            for n, (event, extra) in enumerate(steps)]
    response = client.post("/api/v1/scans", headers=api_token(t.courier), json=rows)
    assert [r["status"] for r in response.get_json()] == ["accepted"] * 4
    by_kind = {(r.dossier_id, r.kind): r for r in _rows()}
    assert set(by_kind) == {(a.id, "delivered"), (b.id, "delivery_failed")}
    assert "(Người nhận đã chuyển đi)" in compose(by_kind[(b.id, "delivery_failed")])[1]


@pytest.mark.parametrize("state", [State.AWAITING_RETURN, State.RESULT_READY])
def test_a_failed_attempt_scanned_without_going_out_still_tells_the_citizen(town, client,
                                                                          api_token, state):
    t = town
    d = t.dossier(state=state)
    db.session.commit()
    answer = _scan(client, api_token(t.courier), d, "delivery_failed",
                   note="chó dữ, gọi số 0912 không nghe")
    assert answer["status"] == "accepted"
    [row] = _rows()
    assert row.kind == "delivery_failed"
    assert "chó dữ" not in compose(row)[1]  # the courier's own note stays internal


def test_a_counter_return_result_cannot_be_scanned_at_the_door(town, client, api_token):
    t = town
    d = t.dossier(return_method=ReturnMethod.COUNTER)
    db.session.commit()
    headers = api_token(t.courier)
    for event in ("out_for_delivery", "delivered", "delivery_failed"):
        answer = _scan(client, headers, d, event)
        assert answer["status"] == "rejected" and answer["error"]["code"] == "counter_return"
    db.session.expire_all()
    assert db.session.get(type(d), d.id).state == State.AWAITING_RETURN
    assert _rows() == []


def test_the_door_page_s_reason_joins_the_message_its_scan_queued(town):
    t = town
    d = t.dossier(state=State.AWAITING_RETURN)
    proof.record_failed_attempt(db.session, t.courier, d, "not_home", now(), note="gọi 3 lần")
    db.session.commit()
    [row] = _rows()
    assert row.kind == "delivery_failed" and row.data["reason"] == "not_home"
    assert "(Không có người nhận)" in compose(row)[1]


def _pending(t, n=1):
    for i in range(n):
        d = t.dossier(state=State.PROCESSING, result=False, street=f"{i} Phan Bội Châu")
        mark_result_ready(db.session, t.officer, d, now=now())
    db.session.commit()


def test_the_log_sender_sends_and_marks_sent(town, caplog):
    _pending(town, 2)
    clock = Clock(now() + timedelta(seconds=2))
    with caplog.at_level(logging.INFO, logger="postal.outbox.senders"):
        assert send_due(db.session, LogSender(), clock=clock) == (2, 0)
    assert sum("0912345678" in r.getMessage() for r in caplog.records) == 2
    rows = _rows()
    assert {r.status for r in rows} == {NotificationStatus.SENT}
    assert all(r.body and r.sent_at == clock.at and r.attempts == 1 for r in rows)
    assert send_due(db.session, LogSender(), clock=clock) == (0, 0)  # never twice


def test_a_failing_channel_is_retried_with_exponential_backoff(town):
    _pending(town)
    clock = Clock(now() + timedelta(seconds=2))
    sender = Flaky(times=2)
    assert send_due(db.session, sender, clock=clock) == (0, 1)
    [row] = _rows()
    assert row.status == NotificationStatus.PENDING and row.attempts == 1
    assert row.last_error == "ConnectionError: gateway down"
    assert row.next_attempt_at == clock.at + timedelta(seconds=30)
    assert send_due(db.session, sender, clock=clock) == (0, 0)  # not due yet
    clock.at += timedelta(seconds=30)
    assert send_due(db.session, sender, clock=clock) == (0, 1)
    assert _rows()[0].next_attempt_at == clock.at + timedelta(seconds=60)
    clock.at += timedelta(seconds=60)
    assert send_due(db.session, sender, clock=clock) == (1, 0)
    [row] = _rows()
    assert row.status == NotificationStatus.SENT and row.attempts == 3
    assert row.last_error is None and len(sender.sent) == 1
    assert backoff(1) == timedelta(seconds=30) and backoff(30) == worker.BACKOFF_MAX


def test_a_worker_dying_mid_send_leaves_the_message_pending_for_the_next_one(town):
    _pending(town, 2)
    clock = Clock(now() + timedelta(seconds=2))
    with pytest.raises(Crash):
        send_due(db.session, Dies(), clock=clock)
    db.session.rollback()
    rows = _rows()
    assert {r.status for r in rows} == {NotificationStatus.PENDING}
    sender = Flaky(times=0)
    assert send_due(db.session, sender, clock=clock) == (0, 0)  # still leased to the dead one
    clock.at += worker.LEASE
    assert send_due(db.session, sender, clock=clock) == (2, 0)  # the restart sends them
    assert {r.status for r in _rows()} == {NotificationStatus.SENT}


def _worker(database_url, *args, **env):
    environment = {**os.environ, "POSTAL_ENV": "test", "TEST_DATABASE_URL": database_url,
                   "PYTHONPATH": str(ROOT / "tests"), **env}
    environment.pop("POSTAL_TEST_CREATE_ALL", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "notify-worker",
                             *args], cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def test_a_killed_worker_process_loses_nothing_a_restarted_one_sends_it(town, database_url,
                                                                         tmp_path):
    _pending(town)
    marker, sent = tmp_path / "began", tmp_path / "sent.txt"
    dying = _worker(database_url, "--lease", "1", NOTIFY_SENDER="delivery_support:HangingSender",
                    POSTAL_TEST_MARKER=str(marker))
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert dying.poll() is None, dying.communicate()
            assert time.monotonic() < deadline, "the worker never began sending"
            time.sleep(0.1)
    finally:
        os.killpg(dying.pid, signal.SIGKILL)
        dying.communicate(timeout=30)
    [row] = _rows()
    assert row.status == NotificationStatus.PENDING and row.attempts == 1
    db.session.commit()
    time.sleep(1.2)  # the dead worker's lease runs out
    again = _worker(database_url, "--once", NOTIFY_SENDER="delivery_support:FileSender",
                    POSTAL_TEST_SENT=str(sent))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert "1 sent" in out.decode()
    [row] = _rows()
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    lines = sent.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and lines[0].startswith("0912345678\t")


class _SMTPHandler(socketserver.StreamRequestHandler):
    def handle(self):
        reply = self.wfile.write
        reply(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.decode("ascii", "replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                reply(b"250 test\r\n")
            elif verb == "DATA":
                reply(b"354 go ahead\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                self.server.messages.append(data[:-5])
                reply(b"250 queued\r\n")
            elif verb == "QUIT":
                reply(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                reply(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_the_smtp_sender_delivers_through_a_real_smtp_conversation(town, smtp_server):
    _pending(town)
    sender = build_sender({"NOTIFY_SENDER": "smtp", "SMTP_HOST": "127.0.0.1",
                           "SMTP_PORT": smtp_server.server_address[1],
                           "SMTP_FROM": "buudien@example.vn", "SMTP_TO": "{recipient}@sms.test"})
    assert isinstance(sender, SmtpSender)
    assert send_due(db.session, sender, clock=Clock(now() + timedelta(seconds=2))) == (1, 0)
    [raw] = smtp_server.messages
    message = email.message_from_bytes(raw, policy=email_policy)
    assert message["To"] == "0912345678@sms.test" and message["From"] == "buudien@example.vn"
    assert message["Subject"].endswith("đã có kết quả")
    assert "Kết quả sẽ được bưu điện giao tận nhà" in message.get_content()


def test_an_unreachable_smtp_server_is_a_failure_to_retry(town):
    _pending(town)
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as closed:
        port = closed.server_address[1]
    sender = SmtpSender("127.0.0.1", port, timeout=2)
    assert send_due(db.session, sender, clock=Clock(now() + timedelta(seconds=2))) == (0, 1)
    [row] = _rows()
    assert row.status == NotificationStatus.PENDING and "Connection" in row.last_error


def test_the_sender_is_chosen_by_setting(runner, app):
    assert isinstance(build_sender({}), LogSender)
    with pytest.raises(ValueError):
        build_sender({"NOTIFY_SENDER": "pigeon"})
    with pytest.raises(ValueError):
        build_sender({"NOTIFY_SENDER": "smtp"})  # no host
    app.config["NOTIFY_SENDER"] = "pigeon"
    result = runner.invoke(args=["notify-worker", "--once"])
    assert result.exit_code != 0 and "NOTIFY_SENDER" in result.output


def test_the_worker_command_sends_due_messages_with_a_rating_link(town, runner, app, caplog):
    t = town
    app.config["PUBLIC_BASE_URL"] = "https://motcua.example.vn/"
    d = t.dossier()
    run = runs.plan_run(db.session, t.clerk, courier="courier1", day=today(), now=now(),
                        config={}, codes=[d.code])
    runs.start_run(db.session, t.courier, run, now())
    proof.record_delivery(db.session, t.courier, d, proof.Proof(
        "Nguyễn Thị Hồng Nhung", "self", signature=data_url(png())), now())
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="postal.outbox.senders"):
        result = runner.invoke(args=["notify-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 sent" in result.output
    delivered = next(r for r in _rows() if r.kind == "delivered")
    assert "https://motcua.example.vn/public/rate/" in delivered.body
