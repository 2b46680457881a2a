"""Logging in and out, lock-out, roles, unit scoping, tokens, `postal users create`."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from postal.core import accounts
from postal.core.errors import Conflict, ValidationFailed
from postal.extensions import db
from postal.models import AuditEntry, Role, UnitKind, User, utcnow
from tests.conftest import PASSWORD, csrf_from

HOMES = {
    "clerk": "/counter/", "courier": "/courier/", "agency": "/agency/", "manager": "/office/",
    "admin": "/admin/",
}


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_lands_on_its_home_page(client, make_user, login_form, role):
    user = make_user(role)
    response = login_form(user)
    assert response.status_code == 302
    assert client.get("/").headers["Location"].endswith(HOMES[role])
    page = client.get(HOMES[role])
    assert page.status_code == 200
    assert 'id="home-title"' in page.get_data(as_text=True)


def test_wrong_password_is_refused_and_counted(client, make_user, login_form):
    user = make_user("clerk")
    response = login_form(user, password="wrong-password")
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 1
    assert client.get("/counter/").status_code == 302  # still not logged in


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client, login_form):
    class Ghost:
        username = "nobody-here"

    response = login_form(Ghost())
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)


def test_account_locks_after_repeated_failures_even_with_the_right_password(
    client, make_user, login_form, app
):
    user = make_user("clerk")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login_form(user, password="nope-nope")
    response = login_form(user)
    assert response.status_code == 423
    assert client.get("/counter/").status_code == 302


def test_lock_expires(make_user, app):
    user = make_user("clerk")
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert accounts.authenticate(db.session, user.username, PASSWORD, max_failures=5,
                                 lock_minutes=15) == user


def test_login_form_without_csrf_token_is_refused(client, make_user):
    user = make_user("clerk")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/counter/").status_code == 302


def test_logout_needs_post_with_csrf(client, make_user, login):
    login(make_user("clerk"))
    assert client.get("/logout").status_code == 405
    page = client.get("/counter/")
    response = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert client.get("/counter/").status_code == 302


def test_password_is_stored_hashed(make_user):
    user = make_user("clerk")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.parametrize(("role", "page"), [
    ("clerk", "/office/"), ("clerk", "/admin/"), ("courier", "/counter/"),
    ("agency", "/counter/"), ("manager", "/admin/"), ("manager", "/courier/"),
])
def test_a_role_reaching_another_roles_page_gets_403(client, make_user, login, role, page):
    login(make_user(role))
    assert client.get(page).status_code == 403


@pytest.mark.parametrize("page", list(HOMES.values()))
def test_pages_need_login(client, page):
    response = client.get(page)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_next_parameter_cannot_redirect_off_site(client, make_user):
    user = make_user("clerk")
    page = client.get("/login?next=//evil.example/")
    response = client.post("/login?next=//evil.example/", data={
        "username": user.username, "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/"


def test_api_token_flow(client, make_user, api_token):
    headers = api_token(make_user("clerk"))
    assert client.get("/api/v1/units?kind=province", headers=headers).status_code == 200
    assert client.get("/api/v1/units").status_code == 401
    bad = client.get("/api/v1/units", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "unauthorized"


def test_api_token_refused_for_wrong_password(client, make_user):
    user = make_user("clerk")
    response = client.post("/api/v1/auth/token", json={"username": user.username,
                                                        "password": "wrong-password"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "login_refused"


@pytest.mark.parametrize("body", [{}, {"username": "x"}, {"username": 1, "password": []}, []])
def test_api_token_malformed_body_is_422(client, body):
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_expired_token_is_refused(client, make_user):
    user = make_user("clerk")
    token, _ = accounts.issue_token(db.session, user, hours=1, now=utcnow() - timedelta(hours=2))
    db.session.commit()
    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_session_api_post_without_csrf_header_is_refused(client, make_user, login):
    login(make_user("clerk"))
    response = client.post("/api/v1/auth/token", json={"username": "a", "password": "b"})
    assert response.status_code == 400


def test_password_change_ends_other_sessions(client, make_user, login):
    user = make_user("clerk")
    login(user)
    accounts.set_password(db.session, user, "another-long-password")
    db.session.commit()
    assert client.get("/counter/").status_code == 302


def test_users_create_command(runner, centre):
    result = runner.invoke(args=["users", "create", "nhung", "--role", "clerk", "--unit",
                                 centre.code], input="a-good-password\na-good-password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "nhung"))
    assert user.role == Role.CLERK and user.unit_id == centre.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user_create"))


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "clerk", "--unit", "NOPE"], "unknown unit"),
    (["--role", "wizard", "--unit", "42"], "Invalid value for '--role'"),
])
def test_users_create_bad_input_is_a_clear_error(runner, args, message):
    result = runner.invoke(args=["users", "create", "someone", *args],
                           input="a-good-password\na-good-password\n")
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(User).where(User.username == "someone")) is None


def test_duplicate_username_and_short_password_are_refused(make_user, centre):
    user = make_user("clerk")
    with pytest.raises(Conflict):
        accounts.create_user(db.session, user.username, PASSWORD, "clerk", centre)
    with pytest.raises(ValidationFailed, match="at least 10"):
        accounts.create_user(db.session, "newbie", "short", "clerk", centre)


def _dossier(unit, procedure, code):
    from postal.dossiers.lifecycle import State
    from postal.models import Applicant, Channel, Dossier, ReturnMethod

    applicant = Applicant(full_name="Nguyễn Thị Hồng Nhung", search_key="nguyen thi hong nhung")
    dossier = Dossier(code=code, token=code, unit=unit, agency=procedure.agency,
                      procedure=procedure, applicant=applicant, state=State.ACCEPTED,
                      channel=Channel.COUNTER, return_method=ReturnMethod.COUNTER,
                      received_at=utcnow())
    db.session.add(dossier)
    db.session.commit()
    return dossier


def test_unit_scoping_hides_another_units_dossier(make_user, make_unit, make_procedure, centre):
    from postal.core.access import dossier_for
    from postal.core.errors import NotFound

    other = make_unit(UnitKind.CENTRE, code="TT-OTHER")
    procedure = make_procedure()
    mine = _dossier(centre, procedure, "A-1")
    theirs = _dossier(other, make_procedure(agency=other), "B-1")
    clerk = make_user("clerk", unit=centre)
    assert dossier_for(db.session, clerk, mine.code) == mine
    with pytest.raises(NotFound):
        dossier_for(db.session, clerk, theirs.code)
    province_manager = make_user("manager", unit=centre.parent)
    assert dossier_for(db.session, province_manager, theirs.code) == theirs
    agency_officer = make_user("agency", unit=procedure.agency)
    assert dossier_for(db.session, agency_officer, mine.code) == mine
    with pytest.raises(NotFound):
        dossier_for(db.session, agency_officer, theirs.code)


def test_the_lock_out_message_gives_the_local_time(make_user):
    from postal.core.time import TZ

    user = make_user("clerk")
    user.locked_until = utcnow() + timedelta(minutes=15)
    db.session.commit()
    with pytest.raises(accounts.AccountLocked) as locked:
        accounts.authenticate(db.session, user.username, PASSWORD, max_failures=5,
                              lock_minutes=15)
    assert user.locked_until.astimezone(TZ).strftime("%H:%M") in locked.value.message
