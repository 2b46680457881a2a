"""Shared pieces of the intake tests: a valid applicant, and accepting through the domain."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask.testing import FlaskClient

from postal.core.time import TZ
from postal.deadlines.office import calendar_for
from postal.dossiers import intake
from postal.extensions import db

NAME = "Nguyễn Thị Hồng Nhung"
ID_NUMBER = "042190001234"  # Hà Tĩnh (042), born 1990 (0, 90)
PHONE = "0912345678"
WARD = "18304"  # Xã Đức Đồng, Hà Tĩnh


class CommittingClient(FlaskClient):
    """Each request in its own app context (as conftest's client), after ending the test's own
    transaction: on SQLite every transaction takes the write lock at BEGIN (BEGIN IMMEDIATE), so
    a lazy load in the test would otherwise hold the lock while the request waits for it."""

    def open(self, *args, **kwargs):
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def committing_client(app):
    """A test client for a module's own `client` fixture (overriding conftest's)."""
    app.test_client_class = CommittingClient
    return app.test_client()


def applicant(**overrides) -> dict:
    data = {"full_name": NAME, "id_number": ID_NUMBER, "phone": PHONE,
            "address": {"street": "Thôn Trung Sơn", "ward_code": WARD}}
    data.update(overrides)
    return data


def local(y, m, d, hh=9, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def accept(clerk, procedure, *, now=None, documents=("d1",), **kw):
    """Accept through the domain as the counter does (calendar from the settings + overrides)."""
    kw.setdefault("applicant", applicant())
    return intake.accept(
        db.session, clerk=clerk, unit=clerk.unit, procedure=procedure, documents=documents,
        now=now, calendar=calendar_for(db.session, current_app.config),
        default_cutoff=current_app.config["SAME_DAY_CUTOFF"], **kw,
    )
