"""Fixtures: a fresh app and database per test, factories, and a login helper.

SQLite (default): the schema and reference data are migrated once into a template file that
each test copies. PostgreSQL (TEST_DATABASE_URL): migrated once per run; every table but the
reference units is truncated before each test.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

from postal import create_app
from postal.core import accounts
from postal.core.reference import add_unit
from postal.dossiers.catalogue import upsert_procedure
from postal.extensions import db
from postal.http.security import session_for
from postal.models import OrgUnit, UnitKind, User

# the browser fixtures, defined once so the session's Chromium is launched once
from tests.browser_support import browser, browser_page, live_server  # noqa: E402,F401

PASSWORD = "correct-horse-42"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _migrate(url: str) -> None:
    from postal.cli import upgrade_database

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if os.environ.get("POSTAL_TEST_CREATE_ALL"):
            # while a branch's models are ahead of its migrations (never in CI)
            from postal.core.reference import load_reference_units

            db.create_all()
            load_reference_units(db.session)
            db.session.commit()
        else:
            upgrade_database()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'org_unit')"
        )).scalars().all()
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        # back to the reference units exactly as migrated: drop what tests added, undo edits
        last = conn.execute(text(
            "SELECT max(id) FROM org_unit WHERE kind IN ('province', 'commune') "
            "AND path ~ '^/[0-9]{2}/([0-9]{5}/)?$'"
        )).scalar()
        conn.execute(text("DELETE FROM org_unit WHERE id > :last"), {"last": last})
        conn.execute(text(
            "UPDATE org_unit SET lat = NULL, lon = NULL, ident_code = NULL, address = NULL, "
            "same_day_cutoff = NULL WHERE lat IS NOT NULL OR ident_code IS NOT NULL "
            "OR address IS NOT NULL OR same_day_cutoff IS NOT NULL"
        ))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('org_unit', 'id'), :last)"),
                     {"last": last})
    engine.dispose()


@pytest.fixture
def database_url(database_template, tmp_path):
    if PG_URL:
        _reset_postgres(PG_URL)
        return PG_URL
    path = tmp_path / "postal.db"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config():
    """Override in a test module to change settings."""
    return {}


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own `g` and its own
    database session, never the test's."""

    def open(self, *args, **kwargs):
        db.session.commit()  # the request must see what the test wrote; ends its snapshot too
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, app_config):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, **app_config})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def province(app):
    return db.session.scalar(select(OrgUnit).where(OrgUnit.code == "42"))


@pytest.fixture
def make_unit(app, province):
    def make(kind=UnitKind.CENTRE, *, code=None, name=None, parent=None, **kw):
        code = code or f"U{uuid.uuid4().hex[:6].upper()}"
        unit = add_unit(db.session, code=code, name=name or f"Đơn vị {code}", kind=kind,
                        parent=parent or province, **kw)
        db.session.commit()
        return unit

    return make


@pytest.fixture
def centre(make_unit):
    return make_unit(UnitKind.CENTRE, code="TTHCC-TEST", name="Trung tâm Phục vụ HCC Thành Sen",
                     ident_code="000.00.42.H26", lat=18.3428, lon=105.9057)


@pytest.fixture
def agency(make_unit):
    return make_unit(UnitKind.AGENCY, code="STP-TEST", name="Sở Tư pháp")


@pytest.fixture
def make_user(app, centre):
    def make(role="clerk", *, unit=None, username=None, password=PASSWORD):
        user = accounts.create_user(db.session, username or f"{role}-{uuid.uuid4().hex[:6]}",
                                    password, role, unit or centre)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_procedure(app, agency):
    def make(code=None, **kw):
        kw.setdefault("name", "Cấp bản sao trích lục hộ tịch")
        kw.setdefault("field", "Hộ tịch")
        kw.setdefault("agency", agency)
        kw.setdefault("processing_days", 3)
        kw.setdefault("documents", [{"id": "d1", "name": "Tờ khai", "required": True},
                                    {"id": "d2", "name": "Giấy uỷ quyền", "required": False}])
        proc = upsert_procedure(db.session, code=code or f"1.{uuid.uuid4().int % 10**6:06d}", **kw)
        db.session.commit()
        return proc

    return make


@pytest.fixture
def login_form(client):
    """Log `user` in through the real login form (CSRF token included); its response."""

    def do(user, password=PASSWORD):
        page = client.get("/login")
        token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
        token = token.split('"')[0]
        return client.post("/login", data={"username": user.username, "password": password,
                                           "csrf_token": token})

    return do


@pytest.fixture
def login(client):
    """Log `user` in without the form: the session cookie the login page would have set (the
    form itself is tested in test_accounts.py with `login_form`)."""

    def do(user):
        values = session_for(db.session, db.session.get(User, user.id))
        db.session.commit()
        with client.session_transaction() as session:
            session.update(values)

    return do


@pytest.fixture
def api_token(client):
    def get(user, password=PASSWORD):
        response = client.post("/api/v1/auth/token",
                               json={"username": user.username, "password": password})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return get


def csrf_from(response) -> str:
    """The CSRF token of a rendered page: its <meta name="csrf-token"> (pages for logged-in
    users), else the hidden field of its form."""
    html = response.get_data(as_text=True)
    for marker in ('<meta name="csrf-token" content="', 'name="csrf_token" type="hidden" value="',
                   'name="csrf_token" value="'):
        if marker in html:
            return html.split(marker)[1].split('"')[0]
    raise AssertionError("the page carries no CSRF token")
