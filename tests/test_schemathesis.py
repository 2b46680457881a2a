"""The API against its own OpenAPI document (schemathesis, in-process over WSGI): whatever a
client sends that the document allows, no answer is a 5xx, and every answer is documented — its
status code and its body's schema. Bounded and deterministic: 25 examples an operation,
derandomized, as an administrator (who passes every role check) with a seeded world; then 16
an operation taking turns as a clerk and as a courier, where no answer may be a 5xx either."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from postal import create_app
from postal.extensions import db
from tests.authz_factories import build_world

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
STAFF_CHECKS = CHECKS  # every role check documents its 401 and 403 (http.security)
STAFF = ("clerk", "courier")


def _document() -> dict:
    """The document the app serves at /api/v1/openapi.json (no database needed to build it)."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_client() as client:
        return client.get("/api/v1/openapi.json").get_json()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def api_world(app, province):
    return build_world(province)


@pytest.fixture
def wsgi(app):
    """The app as a WSGI callable running each call in its own app context and session."""

    def isolated(environ, start_response):
        db.session.rollback()  # the test's own session holds no lock while the app works
        with app.app_context():
            return list(app.wsgi_app(environ, start_response))

    return isolated


def aim(case, world) -> None:
    """Point the case at the world's real objects, so that answers other than 404 (and their
    bodies) are checked too: path identifiers, and the public lookup's token."""
    path = case.operation.path
    params = case.path_parameters or {}
    if "code" in params:
        params["code"] = world.mine.manifest if "/manifests/" in path else world.mine.dossier
    if "number" in params:
        params["number"] = world.mine.pickup
    if "run_id" in params:
        params["run_id"] = world.mine.run
    if "username" in params:
        params["username"] = world.mine.users["courier"].username
    if path == "/api/v1/public/status":
        case.query = {"token": world.mine.token}


@pytest.fixture
def calls():
    return iter(range(10**6))


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_the_promises_of_its_document(case, wsgi, api_world, calls):
    if next(calls) % 2:  # every other case asks about an object that exists
        aim(case, api_world)
    case.call_and_validate(app=wsgi, checks=CHECKS,
                           headers={"Authorization": f"Bearer {api_world.tokens['admin']}"})


@schema.parametrize()
@settings(max_examples=16, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_answer_to_a_clerk_or_a_courier_is_a_5xx(case, wsgi, api_world, calls):
    """The same document as counter and field staff, whose role checks and unit scopes take
    other paths than the administrator's: the cases take turns between a clerk and a courier
    (one world and one app for both, which halves the setup that dominates this test)."""
    i = next(calls)
    if i % 2:
        aim(case, api_world)
    staff = STAFF[i // 2 % 2]
    case.call_and_validate(app=wsgi, checks=STAFF_CHECKS,
                           headers={"Authorization": f"Bearer {api_world.tokens[staff]}"})


@pytest.mark.parametrize("query", [
    "/api/v1/units?limit=-1", "/api/v1/units?limit=0", "/api/v1/units?limit=5001",
    "/api/v1/units?kind=planet", "/api/v1/procedures?limit=-1", "/api/v1/procedures?limit=501",
    "/api/v1/manifests?limit=-1", "/api/v1/procedures?q=a%00b", "/api/v1/units?q=%00",
])
def test_input_a_database_refuses_is_a_422_on_every_database(client, api_world, query):
    """SQLite reads LIMIT -1 as "no limit" and stores NUL; PostgreSQL refuses both (a 500 if
    they reach it): the schema must stop them."""
    answer = client.get(query, headers={"Authorization": f"Bearer {api_world.tokens['admin']}"})
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["field"] in ("limit", "kind", "q")
