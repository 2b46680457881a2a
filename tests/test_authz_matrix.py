"""The authorization matrix: every route of app.url_map, asked by no login and by each role.

ACCESS declares, per endpoint, who may use it and how its URL names an object. A route the
table does not declare fails test_every_route_is_declared: a new route must state its access.
For each declared route and each principal the answer must be:
  - no login: 401 (JSON) under /api/, a redirect to the login page otherwise (public routes:
    an ordinary answer);
  - a role not declared: 403;
  - a declared role: neither 401, 403, a redirect to the login page nor a 5xx (the bodies are
    empty, so 4xx for bad input is expected and fine);
  - a declared role (admins aside) asking for ANOTHER unit's object: 404, never its data —
    or, when the (empty) input is refused before any lookup, exactly the answer a missing
    object gets, so the answer never tells whether the object exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from flask import url_for

from postal.extensions import db
from postal.http.security import session_for
from tests.authz_factories import ROLES, Side, World, build_world
from tests.conftest import csrf_from

PUBLIC = "public"
ANY = ("clerk", "courier", "agency", "manager")
Kw = Callable[[Side, World], dict]


@dataclass(frozen=True)
class Access:
    roles: tuple[str, ...] | str  # allowed roles (admins always), or PUBLIC
    kwargs: Kw | None = None  # URL arguments naming an object of a side
    scoped: bool = False  # another unit's object must be a 404
    ok: Callable | None = None  # what a declared role's answer must satisfy, if not the default
    # declared roles that an object-level rule refuses (403) for the world's object of my side
    refused: tuple[str, ...] = ()


def dossier(s, w):
    return {"code": s.dossier}


def ref(s, w):
    return {"ref": s.dossier}


def manifest(s, w):
    return {"code": s.manifest}


def pickup(s, w):
    return {"number": s.pickup}


def run(s, w):
    return {"run_id": s.run}


def scoped(roles, kwargs):
    return Access(roles, kwargs, scoped=True)


def redirect(response) -> bool:
    return response.status_code in (302, 303)


ACCESS: dict[str, Access] = {
    # no login needed
    "home.index": Access(PUBLIC, ok=redirect),  # to the login page, or to the role's home
    "auth.login": Access(PUBLIC),
    "auth.language": Access(PUBLIC, lambda s, w: {"code": "en"}),
    # single sign-on: 404 where it is not configured (as here), never a login wall
    "sso.start": Access(PUBLIC),
    "sso.callback": Access(PUBLIC),
    "public.status": Access(PUBLIC),
    "api_public.status": Access(PUBLIC),
    "api_auth.token": Access(PUBLIC),
    "api_webhooks.sms_receipt": Access(PUBLIC),  # the SMS gateway, by its X-Postal-Token
    "api_auth.logout": Access(ANY),  # revokes the bearer token it carries
    "openapi.spec": Access(PUBLIC),
    "static": Access(PUBLIC, lambda s, w: {"filename": "app.css"}),
    # any logged-in user
    "auth.logout": Access(ANY, ok=redirect),
    "timeline.show": scoped(ANY, dossier),
    "timeline.pdf": scoped(ANY, dossier),
    "api_corrections.list_corrections": scoped(ANY, dossier),
    "api_units.list_units": Access(ANY),
    "api_procedures.list_procedures": Access(ANY),
    "api_dossiers.show": scoped(ANY, dossier),
    "api_dossiers.receipt": scoped(ANY, dossier),
    "api_dossiers.sticker": scoped(ANY, dossier),
    "api_dossiers.supplement_slip": scoped(ANY, dossier),
    "api_dossiers.refusal_slip": scoped(ANY, dossier),
    # administrators
    "admin.index": Access(()),
    "admin.create_user": Access(()),
    "admin.change_user": Access((), lambda s, w: {"user_id": w.users["clerk"].id,
                                                   "action": "unlock"}),
    "audit_admin.index": Access(()),
    "sso_admin.index": Access(()),
    "sso_admin.add_rule": Access(()),
    "sso_admin.delete_rule": Access((), lambda s, w: {"rule_id": 999_999}),
    "sso_admin.link": Access(()),
    "sso_admin.unlink": Access((), lambda s, w: {"identity_id": 999_999}),
    "links_admin.index": Access(()),
    "links_admin.subscribe": Access(()),
    "links_admin.unsubscribe": Access((), lambda s, w: {"subscriber_id": 999_999}),
    "links_admin.replay": Access((), lambda s, w: {"delivery_id": 999_999}),
    "api_webhooks.subscribe": Access(()),
    "api_webhooks.list_subscribers": Access(()),
    "api_webhooks.unsubscribe": Access((), lambda s, w: {"subscriber_id": 999_999}),
    # the counter
    "counter.index": Access(("clerk",)),
    "counter.submit": Access(("clerk",)),
    "counter.cccd": Access(("clerk",)),
    "counter.checklist": Access(("clerk",), lambda s, w: {"code": s.procedure}),
    "counter.find": Access(("clerk", "manager")),
    "counter.wards": Access(("clerk", "manager")),
    "counter.dossier": scoped(("clerk", "manager"), ref),
    "counter.supplement_received": scoped(("clerk",), ref),
    "counter.paper": scoped(("clerk", "manager"), lambda s, w: {"ref": s.dossier,
                                                               "kind": "receipt"}),
    "api_dossiers.create": Access(("clerk",)),
    "api_delivery.return_here": scoped(("clerk",), dossier),
    # the agency's decisions
    "agency.index": Access(("agency",)),
    "agency.dossier": scoped(("agency", "clerk"), dossier),
    # a clerk records a result only for a dossier its own unit decides: not this one
    "agency.decide": Access(("agency", "clerk"), lambda s, w: {"code": s.dossier,
                                                              "action": "result"},
                            scoped=True, refused=("clerk",)),
    "agency.apology": scoped(("agency", "clerk", "manager"), dossier),
    "api_decisions.result": Access(("agency", "clerk"), dossier, scoped=True,
                                   refused=("clerk",)),
    "api_decisions.supplement": scoped(("agency",), dossier),
    "api_decisions.supplement_received": scoped(("agency", "clerk"), dossier),
    "api_decisions.extend": scoped(("agency",), dossier),
    "api_decisions.stop": scoped(("agency",), dossier),
    "api_decisions.withdraw": scoped(("clerk", "agency"), dossier),
    "api_decisions.apology": scoped(("agency", "clerk", "manager"), dossier),
    # custody: manifests and scans
    "manifests.index": Access(("clerk", "agency", "courier", "manager")),
    "manifests.new": Access(("clerk", "agency")),
    "manifests.create": Access(("clerk", "agency")),
    "manifests.show": scoped(("clerk", "agency", "courier", "manager"), manifest),
    "manifests.pdf": scoped(("clerk", "agency", "courier", "manager"), manifest),
    "manifests.receive": scoped(("clerk", "agency"), manifest),
    # only the receiving unit checks a manifest in; the world's goes from the centre to the agency
    "manifests.close": Access(("clerk", "agency"), manifest, scoped=True, refused=("clerk",)),
    "manifests.alerts": Access(("manager", "clerk")),
    "api_manifests.index": Access(("clerk", "agency", "courier", "manager")),
    "api_manifests.create": Access(("clerk", "agency")),
    "api_manifests.show": scoped(("clerk", "agency", "courier", "manager"), manifest),
    "api_manifests.pdf": scoped(("clerk", "agency", "courier", "manager"), manifest),
    "api_manifests.receive": scoped(("clerk", "agency"), manifest),
    "api_manifests.close": Access(("clerk", "agency"), manifest, scoped=True,
                                  refused=("clerk",)),
    "api_scans.post_scans": Access(("courier", "clerk", "agency")),
    # home pickups
    "pickups.index": Access(("clerk", "manager")),
    "pickups.book": Access(("clerk", "manager")),
    "pickups.act": scoped(("clerk", "manager"), lambda s, w: {"number": s.pickup,
                                                              "action": "cancel"}),
    "courier.index": Access(("courier",)),
    "courier.collect": scoped(("courier",), pickup),
    "courier.hand_in": scoped(("courier",), pickup),
    "courier.fail": scoped(("courier",), pickup),
    "api_pickups.index": Access(("clerk", "manager", "courier")),
    "api_pickups.create": Access(("clerk", "manager")),
    "api_pickups.show": scoped(("clerk", "manager", "courier"), pickup),
    "api_pickups.assign": scoped(("clerk", "manager"), pickup),
    "api_pickups.cancel": scoped(("clerk", "manager"), pickup),
    "api_pickups.fail": scoped(("courier", "clerk"), pickup),
    # home delivery
    "api_runs.index": Access(("clerk", "manager", "courier")),
    "api_runs.queue": Access(("clerk", "manager")),
    "api_runs.create": Access(("clerk", "manager")),
    "api_runs.show": scoped(("clerk", "manager", "courier"), run),
    "api_runs.labels_pdf": scoped(("clerk", "manager", "courier"), run),
    "api_runs.labels_zpl": scoped(("clerk", "manager", "courier"), run),
    "api_runs.sheet_pdf": scoped(("clerk", "manager", "courier"), run),
    "api_runs.start": scoped(("courier",), run),
    "api_runs.cancel": scoped(("clerk", "manager"), run),
    "delivery.plan": Access(("clerk", "manager")),
    "delivery.create_run": Access(("clerk", "manager")),
    "delivery.run": scoped(("clerk", "manager", "courier"), run),
    "delivery.start_run": scoped(("courier",), run),
    "delivery.cancel_run": scoped(("clerk", "manager"), run),
    "delivery.courier": Access(("courier",)),
    "delivery.door": scoped(("courier",), dossier),
    "delivery.deliver": scoped(("courier",), dossier),
    "delivery.fail": scoped(("courier",), dossier),
    "delivery.evidence": Access(("clerk", "manager", "courier"),
                                lambda s, w: {"attempt_id": 999_999, "kind": "photo"}),
    "delivery.counter_search": Access(("clerk",)),
    "delivery.counter_return": scoped(("clerk",), dossier),
    "delivery.hand_over": scoped(("clerk",), dossier),
    "delivery.rate_screen": scoped(("clerk",), dossier),
    "delivery.rate_at_counter": scoped(("clerk",), dossier),
    "delivery.cod_day": Access(("clerk", "manager")),
    "delivery.public_rate": Access(PUBLIC, lambda s, w: {"token": s.token}),
    "api_delivery.deliver": scoped(("courier",), dossier),
    "api_delivery.fail": scoped(("courier",), dossier),
    "api_delivery.rate": scoped(("clerk", "courier", "manager"), dossier),
    "api_delivery.cod_day": scoped(("clerk", "manager", "courier"),
                                   lambda s, w: {"username": s.users["courier"].username}),
    "api_delivery.cod_handover": scoped(("clerk", "manager"),
                                        lambda s, w: {"username": s.users["courier"].username}),
    # the courier's phone offline (the manifest and the service worker hold no data)
    "courier.offline": Access(("courier",)),
    "courier.manifest": Access(PUBLIC),
    "courier.service_worker": Access(PUBLIC),
    "courier.shell": Access(PUBLIC, lambda s, w: {"name": "phone/shell.js"}),
    "api_delivery.phone_session": Access(("courier",)),
    "api_delivery.courier_work": Access(("courier",)),
    "api_delivery.courier_clock": Access(("courier",)),
    "api_delivery.flagged_clocks": Access(("clerk", "manager")),
    "api_delivery.begin_upload": Access(("courier",)),
    "api_delivery.show_upload": Access(("courier",), lambda s, w: {"upload_id": "no-such-upload"}),
    "api_delivery.put_upload_part": Access(("courier",), lambda s, w: {
        "upload_id": "no-such-upload", "offset": 0}),
    "api_delivery.post_proofs": Access(("courier",)),
    # the district office
    "calendar_admin.index": Access(("manager",)),
    "calendar_admin.add": Access(("manager",)),
    "calendar_admin.delete": Access(("manager",), lambda s, w: {"override_id": 999_999}),
    "office.index": Access(("manager",)),
    "office.close_month": Access(("manager",)),
    "office.dossiers": Access(("manager",)),
    "office.export": Access(("manager",), lambda s, w: {"fmt": "csv"}),
    "office.register": Access(("manager",), lambda s, w: {"fmt": "xlsx"}),
    "office.report": Access(("manager",), lambda s, w: {"fmt": "csv"}),
    "office.import_page": Access(("manager",)),
    "office.import_upload": Access(("manager",)),
    "office.import_job": Access(("manager",), lambda s, w: {"job_id": "no-such-job"}),
    "office.import_status": Access(("manager",), lambda s, w: {"job_id": "no-such-job"}),
    "office.import_confirm": Access((), lambda s, w: {"job_id": "no-such-job"}),  # admins
    "api_reports.summary": Access(("manager",)),
    "api_corrections.period_corrections": Access(("manager",)),
    "api_corrections.correct": scoped(("manager",), dossier),
    "timeline.correct": scoped(("manager",), dossier),
}


def endpoints(app) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        out.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return out


def test_every_route_is_declared(app):
    served = endpoints(app)
    undeclared = sorted(set(served) - set(ACCESS))
    assert undeclared == [], ("routes without a declared access in ACCESS "
                              f"(tests/test_authz_matrix.py): {undeclared}")
    assert sorted(set(ACCESS) - set(served)) == [], "ACCESS declares routes the app lacks"


# -- asking ------------------------------------------------------------------------------------

class Asker:
    """One client per principal: a browser session (with its CSRF token) and a bearer token."""

    def __init__(self, app, world: World):
        self.app, self.world, self.clients, self.csrf = app, world, {}, {}
        for who in (None, *ROLES):
            client = app.test_client()
            if who is not None:
                cookie = session_for(db.session, world.users[who])
                db.session.commit()
                with client.session_transaction() as session:
                    session.update(cookie)
            self.clients[who] = client
            self.csrf[who] = csrf_from(client.get("/public/status" if who else "/login"))

    def ask(self, who: str | None, method: str, url: str):
        if url.startswith("/api/"):
            # a bare client: the bearer token alone says who asks, as for a phone app
            headers = {} if who is None else {"Authorization": f"Bearer {self.world.tokens[who]}"}
            response = self.app.test_client().open(url, method=method, headers=headers,
                                                   json={} if method != "GET" else None)
        else:
            data = {"csrf_token": self.csrf[who]} if method != "GET" else None
            response = self.clients[who].open(url, method=method, data=data)
        response.get_data()
        response.close()  # streamed files (static, PDFs) hold their file open until closed
        return response


# a side whose objects do not exist
MISSING = Side(centre=None, agency=None, dossier="000.00.99.H26-250303-9999", token="x" * 22,
               manifest="BK-99-250303-9999", pickup="PU999999990VN", run=999_999,
               users={"courier": SimpleNamespace(username="nobody-here")}, procedure="P-99")


def _answer(response) -> tuple[int, str | None]:
    body = response.get_json(silent=True) or {}
    return response.status_code, (body.get("error") or {}).get("code")


def _url(app, endpoint: str, kwargs: dict) -> str:
    with app.test_request_context():
        return url_for(endpoint, **kwargs)


def _to_login(response) -> bool:
    return redirect(response) and "/login" in response.headers.get("Location", "")


def _allowed(access: Access, response) -> str | None:
    """None when a declared principal's answer is right, else what is wrong with it."""
    if access.ok is not None:
        return None if access.ok(response) else "unexpected answer"
    if response.status_code in (401, 403) or _to_login(response):
        return "refused"
    if response.status_code >= 500:
        return "server error"
    return None


@pytest.mark.parametrize("endpoint", sorted(ACCESS))
def test_the_route_answers_each_principal_as_declared(app, province, endpoint):
    access = ACCESS[endpoint]
    methods = endpoints(app).get(endpoint)
    assert methods, f"{endpoint} is declared but not served"
    world = build_world(province)
    asker = Asker(app, world)
    wrong = []
    for method in sorted(methods):
        url = _url(app, endpoint, access.kwargs(world.mine, world) if access.kwargs else {})
        for who in (None, *ROLES):
            db.session.rollback()
            response = asker.ask(who, method, url)
            got = f"{response.status_code} {response.headers.get('Location', '')}".strip()
            if who in access.refused:
                problem = None if response.status_code == 403 else "should be 403 (refused)"
            elif access.roles == PUBLIC or (who is not None and (
                    who == "admin" or who in access.roles)):
                problem = _allowed(access, response)
            elif who is None:
                ok = response.status_code == 401 if url.startswith("/api/") else _to_login(
                    response)
                problem = None if ok else "no login should be 401 / login redirect"
            else:
                problem = None if response.status_code == 403 else "should be 403"
            if problem:
                wrong.append(f"{method} {url} as {who or 'no login'}: {got} ({problem})")
        if access.scoped:
            other = _url(app, endpoint, access.kwargs(world.other, world))
            missing = _url(app, endpoint, access.kwargs(MISSING, world))
            for who in access.roles:
                theirs, nothing = (_answer(asker.ask(who, method, u)) for u in (other, missing))
                # 404, or (input refused before any lookup) the very answer a missing one gets
                if theirs[0] != 404 and (theirs != nothing or theirs[0] < 400):
                    wrong.append(f"{method} {other} (another unit's) as {who}: {theirs}, "
                                 f"should be 404 like a missing one ({nothing})")
    assert not wrong, "\n".join(wrong)
