"""Logins the server can end: logout, revoked tokens, deactivation, new passwords, strength."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from postal.core import accounts
from postal.core.errors import ValidationFailed
from postal.extensions import db
from postal.models import ApiToken, LoginSession
from tests.conftest import PASSWORD, csrf_from


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_a_saved_session_cookie_opens_nothing_after_logout(app, client, make_user, login_form):
    login_form(make_user("clerk"))
    saved = _cookie(client)
    assert _with_cookie(app, saved).get("/counter/").status_code == 200
    page = client.get("/counter/")
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert _with_cookie(app, saved).get("/counter/").status_code == 302  # to the login page
    assert db.session.scalar(select(LoginSession.revoked_at)) is not None


def test_logging_in_again_after_logout_works(client, make_user, login_form):
    user = make_user("clerk")
    login_form(user)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/counter/"))})
    assert client.get("/counter/").status_code == 302
    login_form(user)
    assert client.get("/counter/").status_code == 200


def test_the_owner_revokes_a_bearer_token_at_logout(client, make_user, api_token):
    headers = api_token(make_user("courier"))
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/units", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 401


def test_api_logout_without_a_login_is_refused(client):
    assert client.post("/api/v1/auth/logout").status_code == 401


def _admin_does(client, admin_login, user, action):
    page = client.get("/admin/")
    return client.post(f"/admin/users/{user.id}/{action}", data={"csrf_token": csrf_from(page)})


@pytest.fixture
def two_logins(app, make_user, login_form, api_token, client):
    """A clerk logged in by the page (its cookie kept aside) and by a token."""
    clerk = make_user("clerk")
    headers = api_token(clerk)
    login_form(clerk)
    cookie = _cookie(client)
    client.delete_cookie("session")
    return clerk, cookie, headers


def test_an_admin_signs_a_user_out_everywhere(app, client, make_user, login, two_logins):
    clerk, cookie, headers = two_logins
    login(make_user("admin"))
    assert _admin_does(client, login, clerk, "revoke").status_code == 302
    assert _with_cookie(app, cookie).get("/counter/").status_code == 302
    assert app.test_client().get("/api/v1/units", headers=headers).status_code == 401
    db.session.expire_all()
    assert db.session.get(type(clerk), clerk.id).active  # the account itself stays open


def test_deactivating_then_reactivating_does_not_bring_old_logins_back(app, client, make_user,
                                                                       login, two_logins):
    clerk, cookie, headers = two_logins
    login(make_user("admin"))
    bearer = app.test_client()
    _admin_does(client, login, clerk, "deactivate")
    assert bearer.get("/api/v1/units", headers=headers).status_code == 401
    _admin_does(client, login, clerk, "activate")
    assert bearer.get("/api/v1/units", headers=headers).status_code == 401
    assert _with_cookie(app, cookie).get("/counter/").status_code == 302
    db.session.expire_all()
    assert all(t.revoked_at is not None for t in db.session.scalars(select(ApiToken)))


def test_a_new_password_ends_every_session_and_token_issued_before(app, client, make_user,
                                                                   two_logins, api_token):
    clerk, cookie, headers = two_logins
    accounts.set_password(db.session, clerk, "another-long-password")
    db.session.commit()
    assert client.get("/api/v1/units", headers=headers).status_code == 401
    assert _with_cookie(app, cookie).get("/counter/").status_code == 302
    fresh = api_token(clerk, password="another-long-password")
    assert client.get("/api/v1/units", headers=fresh).status_code == 200


def test_a_cookie_naming_another_users_session_opens_nothing(app, client, make_user,
                                                             login_form):
    login_form(make_user("clerk"))
    value = client.get_cookie("session").value
    with client.session_transaction() as session:
        key = session["_user_id"].partition(":")[2]
        session["_user_id"] = f"{make_user('admin').id}:{key}"
    assert client.get("/admin/").status_code == 302
    assert _with_cookie(app, value).get("/counter/").status_code == 200


@pytest.mark.parametrize(("password", "message"), [
    ("short-1", "at least 10"),
    ("password123", "too easy to guess"),
    ("qwertyuiop12", "too easy to guess"),
    ("nguyenthuy2025", "too easy to guess"),  # the username and a year
])
def test_weak_passwords_are_refused(centre, password, message):
    with pytest.raises(ValidationFailed, match=message):
        accounts.create_user(db.session, "nguyenthuy", password, "clerk", centre)
    assert PASSWORD  # the suite's own password is strong enough to be accepted
    accounts.create_user(db.session, "nguyenthuy", PASSWORD, "clerk", centre)


class TestOneLoginBudget:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}

    def test_the_page_and_the_token_endpoint_share_one_budget_per_address(self, client,
                                                                          make_user):
        user = make_user("clerk")
        for _ in range(2):
            page = client.get("/login")
            answer = client.post("/login", data={"username": user.username, "password": "x",
                                                 "csrf_token": csrf_from(page)})
            assert answer.status_code == 401
        wrong = {"username": "someone-else", "password": "x"}
        assert client.post("/api/v1/auth/token", json=wrong).status_code == 401
        assert client.post("/api/v1/auth/token", json=wrong).status_code == 429
        page = client.get("/login")
        assert page.status_code == 200  # showing the form costs nothing
        assert client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf_from(page)}).status_code == 429

    def test_one_account_has_one_budget_whatever_the_address(self, app, make_user):
        user = make_user("clerk")
        for n in range(3):
            other = app.test_client()
            answer = other.post("/api/v1/auth/token", environ_base={"REMOTE_ADDR": f"10.1.0.{n}"},
                                json={"username": user.username.upper(), "password": "x"})
            assert answer.status_code == 401
        late = app.test_client().post("/api/v1/auth/token",
                                      environ_base={"REMOTE_ADDR": "10.1.0.99"},
                                      json={"username": user.username, "password": PASSWORD})
        assert late.status_code == 429
        fine = app.test_client().post("/api/v1/auth/token",
                                      environ_base={"REMOTE_ADDR": "10.1.0.99"},
                                      json={"username": "someone-else", "password": "x"})
        assert fine.status_code == 401


def test_pages_and_answers_are_never_stored_but_static_files_are(client, make_user, login,
                                                                 api_token):
    clerk = make_user("clerk")
    headers = api_token(clerk)
    assert client.get("/api/v1/units", headers=headers).headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    login(clerk)
    assert client.get("/counter/").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/procedures").headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    static.close()
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
