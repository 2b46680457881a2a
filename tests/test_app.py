"""The application factory, settings and schema."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import config
from postal import create_app
from postal.extensions import db


def test_missing_secret_key_in_production_is_a_clear_error():
    with pytest.raises(config.ConfigError, match="SECRET_KEY is not set"):
        config.load(environ={"POSTAL_ENV": "production"})


def test_short_secret_key_in_production_is_refused():
    with pytest.raises(config.ConfigError, match="too short"):
        config.load(environ={"POSTAL_ENV": "production", "SECRET_KEY": "abc"})


def test_malformed_database_url_is_a_clear_error():
    with pytest.raises(config.ConfigError, match="DATABASE_URL is malformed"):
        config.load(environ={"DATABASE_URL": "not a url"})


def test_unsupported_database_is_refused():
    with pytest.raises(config.ConfigError, match="SQLite or PostgreSQL"):
        config.load(environ={"DATABASE_URL": "mysql://u@h/db"})


def test_non_numeric_setting_is_a_clear_error():
    with pytest.raises(config.ConfigError, match="LOGIN_MAX_FAILURES must be a whole number"):
        config.load(environ={"LOGIN_MAX_FAILURES": "many"})


def test_bad_office_hours_are_refused():
    with pytest.raises(config.ConfigError, match="OFFICE_HOURS"):
        config.load(environ={"OFFICE_HOURS": "17:00-07:30"})


def test_unknown_environment_name_is_refused():
    with pytest.raises(config.ConfigError, match="POSTAL_ENV must be one of"):
        config.load(environ={"POSTAL_ENV": "staging"})


def test_environment_overrides_class_defaults():
    settings = config.load(environ={"LOGIN_MAX_FAILURES": "3", "SECRET_KEY": "s" * 30})
    assert settings["LOGIN_MAX_FAILURES"] == 3
    assert settings["ENV_NAME"] == "development"


def test_production_cookies_are_secure():
    settings = config.load(environ={"POSTAL_ENV": "production", "SECRET_KEY": "s" * 40})
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True


def test_cli_reports_a_bad_setting_without_a_traceback(monkeypatch):
    from click.testing import CliRunner

    from postal.cli import main

    monkeypatch.setenv("DATABASE_URL", "::nonsense::")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "configuration error: DATABASE_URL is malformed" in result.output
    assert "Traceback" not in result.output


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_sqlite_has_foreign_keys_and_wal(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.fail("this test builds its own SQLite app")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        db.engine.dispose()


def test_reference_data_holds_every_province_and_ha_tinh(app):
    from sqlalchemy import func, select

    from postal.models import OrgUnit, UnitKind

    provinces = db.session.scalar(
        select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == UnitKind.PROVINCE))
    assert provinces == 34
    ha_tinh = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "42"))
    assert ha_tinh.name == "Hà Tĩnh" or "Hà Tĩnh" in ha_tinh.name
    duc_dong = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "18304"))
    assert duc_dong.parent.code == "42" and duc_dong.path == "/42/18304/"


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_openapi_document_lists_units_and_procedures(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/units" in spec["paths"]
    assert "/api/v1/procedures" in spec["paths"]
    assert not any(p.startswith("/login") for p in spec["paths"])


def test_behind_a_proxy_the_client_address_is_the_forwarded_one(database_url):
    from flask import request

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "PROXY_COUNT": 1})

    @app.get("/_whoami")
    def whoami():
        return request.remote_addr

    answer = app.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert answer.get_data(as_text=True) == "203.0.113.7"
