"""Single sign-on through OpenID Connect, against a local provider (tests/oidc_provider.py):
login, logout, the rules, linking, and every way a login must be refused with nothing made."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from config import ConfigError
from postal import create_app
from postal.core import accounts, sso
from postal.extensions import db
from postal.models import AuditEntry, LoginSession, Role, SsoIdentity, SsoRule, User
from tests.conftest import csrf_from
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider


@pytest.fixture(scope="module")
def provider():
    running = Provider().start()
    yield running
    running.stop()


@pytest.fixture
def app_config(provider, monkeypatch):
    provider.reset()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return {"OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_PROVIDER_NAME": "VNeID công chức"}


@pytest.fixture
def rules(app, centre, make_unit):
    """Clerks of the one-stop group at the centre; anyone else of the province's staff group
    a courier at a post office."""
    post_office = make_unit(code="BC-TEST", name="Bưu cục Thành Sen")
    sso.add_rule(db.session, claim="groups", value="motcua-clerks", role="clerk", unit=centre)
    sso.add_rule(db.session, claim="groups", value="ht-*", role="courier", unit=post_office)
    db.session.commit()
    return centre, post_office


def _sso_login(client, provider, next_url=None):
    """The browser's trip: our start page, the provider's /authorize, back to our callback."""
    start = client.get("/login/sso", query_string={"next": next_url} if next_url else None)
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == "/login/sso/callback"
    return client.get(f"{back.path}?{back.query}")


def _counts():
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(t))
                 for t in (User, SsoIdentity, LoginSession))


# ---- login and logout -----------------------------------------------------------------------


def test_first_login_makes_the_account_the_first_matching_rule_says(client, provider, rules):
    centre, _ = rules
    provider.person["groups"] = ["ht-staff", "motcua-clerks"]  # both rules match: first wins
    response = _sso_login(client, provider, next_url="/counter/")
    assert response.status_code == 302 and response.headers["Location"] == "/counter/"
    user = db.session.scalar(select(User).where(User.username == "lan.nguyen"))
    assert (user.role, user.unit_id, user.full_name) == (Role.CLERK, centre.id, "Nguyễn Thị Lan")
    identity = db.session.scalar(select(SsoIdentity))
    assert (identity.issuer, identity.subject, identity.user_id) == (
        provider.issuer, "user-1", user.id)
    assert identity.provisioned and identity.last_login_at is not None
    # the same server-side login session and audit entry as the password login
    assert db.session.scalar(select(LoginSession.user_id)) == user.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "login"))
    assert entry.user_id == user.id and entry.details["provider"] == "oidc"
    assert client.get("/counter/").status_code == 200
    # and the account has no password anyone could log in with
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate(db.session, "lan.nguyen", "", max_failures=5, lock_minutes=1)


def test_the_flow_uses_pkce_state_and_nonce(client, provider, rules):
    _sso_login(client, provider)
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["state"] and asked["nonce"] and "openid" in asked["scope"].split()


def test_a_second_login_opens_the_same_account_and_logout_ends_the_session(
        app, client, provider, rules):
    _sso_login(client, provider)
    saved = client.get_cookie("session").value
    page = client.get("/counter/")
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    other = app.test_client()
    other.set_cookie("session", saved)
    assert other.get("/counter/").status_code == 302  # the saved cookie opens nothing now
    assert client.get("/counter/").status_code == 302
    assert _sso_login(client, provider).status_code == 302
    assert client.get("/counter/").status_code == 200
    assert _counts() == (1, 1, 2)
    assert db.session.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.revoked_at.is_not(None))) == 1


def test_a_person_no_rule_matches_is_refused_and_no_account_is_made(client, provider, rules):
    provider.person["groups"] = ["citizens"]
    response = _sso_login(client, provider)
    assert response.status_code == 403
    assert "chưa được cấp quyền" in response.get_data(as_text=True)
    assert _counts() == (0, 0, 0)
    assert client.get("/counter/").status_code == 302


def test_without_any_rule_nobody_gets_in(client, provider):
    assert _sso_login(client, provider).status_code == 403
    assert _counts() == (0, 0, 0)


def test_a_deactivated_account_is_refused(client, provider, rules):
    _sso_login(client, provider)
    user = db.session.scalar(select(User))
    accounts.deactivate(db.session, user)
    db.session.commit()
    client.delete_cookie("session")
    response = _sso_login(client, provider)
    assert response.status_code == 403 and "bị khoá" in response.get_data(as_text=True)
    assert client.get("/counter/").status_code == 302


def test_the_rules_move_a_provisioned_account_when_the_groups_change(client, provider, rules):
    _, post_office = rules
    _sso_login(client, provider)
    client.delete_cookie("session")
    provider.person["groups"] = ["ht-couriers"]
    _sso_login(client, provider)
    user = db.session.scalar(select(User))
    assert (user.role, user.unit_id) == (Role.COURIER, post_office.id)


def test_a_local_account_with_the_same_name_is_never_taken_over(
        client, provider, rules, make_user):
    local = make_user("manager", username="lan.nguyen")
    _sso_login(client, provider)
    made = db.session.scalar(select(User).join(SsoIdentity))
    assert made.id != local.id and made.username == "lan.nguyen-2"
    db.session.refresh(local)
    assert local.role == Role.MANAGER and local.password_hash != sso.NO_PASSWORD


def test_an_admin_links_a_local_account_which_keeps_its_role(
        client, provider, rules, make_user, login):
    admin = make_user("admin")
    local = make_user("manager", username="thu.manager")
    login(admin)
    page = client.get("/admin/sso/")
    assert page.status_code == 200
    response = client.post("/admin/sso/identities", data={
        "csrf_token": csrf_from(page), "username": "thu.manager", "subject": "user-1"})
    assert response.status_code == 303
    client.delete_cookie("session")
    assert _sso_login(client, provider).status_code == 302
    assert db.session.scalar(select(LoginSession.user_id).order_by(LoginSession.id.desc())
                             .limit(1)) == local.id
    db.session.refresh(local)
    assert local.role == Role.MANAGER  # an admin's link: the rules do not move it
    assert db.session.scalar(select(func.count()).select_from(User)) == 2


# ---- refusals: 4xx, nothing made ------------------------------------------------------------


def _callback_with(client, provider, **tamper):
    provider.tamper.update(tamper)
    return _sso_login(client, provider)


@pytest.mark.parametrize("tamper", [
    {"other_key": True},  # signed by another key under the same key id
    {"exp_in": -3600},  # expired an hour ago
    {"nonce": "not-the-one-we-sent"},
    {"aud": "another-client"},
    {"aud": "another-client", "azp": CLIENT_ID},  # for another client, whatever azp says
    {"iss": "https://evil.example"},
], ids=["other-key", "expired", "nonce", "audience", "audience-with-azp", "issuer"])
def test_an_id_token_that_fails_verification_is_refused(client, provider, rules, tamper):
    response = _callback_with(client, provider, **tamper)
    assert response.status_code == 400
    assert _counts() == (0, 0, 0)
    assert client.get("/counter/").status_code == 302


def test_a_wrong_state_is_refused_before_the_code_is_used(client, provider, rules):
    start = client.get("/login/sso")
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    code = parse_qs(back.query)["code"][0]
    response = client.get("/login/sso/callback", query_string={"code": code, "state": "forged"})
    assert response.status_code == 400
    assert provider.token_requests == 0
    assert _counts() == (0, 0, 0)


def test_a_callback_from_another_browser_is_refused(app, client, provider, rules):
    """Login CSRF: a code and state obtained by someone else, sent to a fresh browser."""
    start = client.get("/login/sso")
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    response = app.test_client().get(f"{back.path}?{back.query}")
    assert response.status_code == 400
    assert _counts() == (0, 0, 0)


def test_a_replayed_callback_is_refused(client, provider, rules):
    start = client.get("/login/sso")
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    with client.session_transaction() as saved:
        kept = dict(saved)
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    client.delete_cookie("session")
    with client.session_transaction() as session:
        session.update(kept)  # the cookie as it was before the callback: replayed
    assert client.get(f"{back.path}?{back.query}").status_code == 400
    assert _counts()[:2] == (1, 1)


def test_a_provider_error_answer_is_refused(client, provider, rules):
    client.get("/login/sso")
    response = client.get("/login/sso/callback",
                          query_string={"error": "access_denied", "state": "x"})
    assert response.status_code == 400
    assert _counts() == (0, 0, 0)


def test_discovery_naming_another_issuer_is_refused(client, provider, rules):
    provider.tamper["discovery_issuer"] = "https://elsewhere.example"
    response = client.get("/login/sso")
    assert response.status_code == 502


def test_an_unreachable_provider_is_a_clear_page(app_config, database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, **app_config,
                      "OIDC_ISSUER": "http://127.0.0.1:9", "OIDC_TIMEOUT": 2})
    with app.app_context():
        response = app.test_client().get("/login/sso")
        assert response.status_code == 502
        assert "Không kết nối được" in response.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


# ---- the login page, the settings -----------------------------------------------------------


def test_the_login_page_offers_the_provider_when_configured(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'id="sso-login"' in page and "VNeID công chức" in page


@pytest.mark.parametrize("config", [{}, {"OIDC_ISSUER": ""}])
def test_without_settings_there_is_no_button_and_the_routes_are_404(database_url, config):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, **config})
    with app.app_context():
        web = app.test_client()
        assert 'id="sso-login"' not in web.get("/login").get_data(as_text=True)
        assert web.get("/login/sso").status_code == 404
        assert web.get("/login/sso/callback?code=x&state=y").status_code == 404
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("settings, says", [
    ({"OIDC_ISSUER": "https://id.example.gov.vn"}, "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET"),
    ({"OIDC_ISSUER": "https://id.example.gov.vn", "OIDC_CLIENT_ID": "x"}, "OIDC_CLIENT_SECRET"),
    ({"OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"}, "OIDC_ISSUER"),
    ({"OIDC_ISSUER": "http://id.example.gov.vn", "OIDC_CLIENT_ID": "x",
      "OIDC_CLIENT_SECRET": "y"}, "https://"),
])
def test_the_app_refuses_to_start_with_half_a_single_sign_on_config(settings, says):
    with pytest.raises(ConfigError, match=says):
        create_app({"TESTING": True, **settings})


def test_half_a_config_from_the_environment_is_refused_too():
    import config

    with pytest.raises(ConfigError, match="half configured"):
        config.load({"TESTING": True}, environ={"OIDC_ISSUER": "https://id.example.gov.vn"})


# ---- the rules and the admin page -----------------------------------------------------------


def _rule(claim, value, position=0, role=Role.CLERK):
    return SsoRule(claim=claim, value=value, role=role, position=position, unit_id=1)


@pytest.mark.parametrize("claims, expected", [
    ({"groups": ["a", "motcua-clerks"]}, "groups"),
    ({"realm_access": {"roles": ["ht-manager"]}}, "realm_access.roles"),
    ({"email_verified": True, "email": "x@hatinh.gov.vn"}, "email"),
    ({"groups": "motcua-clerks"}, "groups"),  # a single value, not a list
    ({"groups": ["citizens"], "email": "x@gmail.com"}, None),
    ({}, None),
])
def test_the_first_matching_rule_decides(claims, expected):
    ordered = [_rule("groups", "motcua-clerks"), _rule("realm_access.roles", "ht-*"),
               _rule("email", "*@hatinh.gov.vn")]
    found = sso.first_match(ordered, claims)
    assert (found.claim if found else None) == expected


def test_the_admin_adds_and_removes_rules(client, make_user, login, centre):
    login(make_user("admin"))
    page = client.get("/admin/")
    assert 'href="/admin/sso/"' in page.get_data(as_text=True)
    page = client.get("/admin/sso/")
    token = csrf_from(page)
    response = client.post("/admin/sso/rules", data={
        "csrf_token": token, "claim": "groups", "value": "motcua-*", "role": "clerk",
        "unit": centre.code, "position": "5"})
    assert response.status_code == 303
    rule = db.session.scalar(select(SsoRule))
    assert (rule.claim, rule.value, rule.role, rule.unit_id, rule.position) == (
        "groups", "motcua-*", Role.CLERK, centre.id, 5)
    assert "motcua-*" in client.get("/admin/sso/").get_data(as_text=True)
    bad = client.post("/admin/sso/rules", data={
        "csrf_token": token, "claim": "groups", "value": "x", "role": "clerk", "unit": "NOPE"})
    assert bad.status_code == 422
    assert client.post(f"/admin/sso/rules/{rule.id}/delete",
                       data={"csrf_token": token}).status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SsoRule)) == 0
    assert {"sso_rule_add", "sso_rule_delete"} <= set(db.session.scalars(
        select(AuditEntry.action)))


def test_only_admins_manage_the_rules(client, make_user, login):
    login(make_user("manager"))
    assert client.get("/admin/sso/").status_code == 403


def test_the_login_button_carries_the_page_to_return_to(client, provider, rules):
    page = client.get("/login?next=/counter/").get_data(as_text=True)
    assert 'href="/login/sso?next=/counter/"' in page or \
        'href="/login/sso?next=%2Fcounter%2F"' in page
