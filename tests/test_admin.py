"""The admin's user management page."""

from sqlalchemy import select

from postal.extensions import db
from postal.models import AuditEntry, User, utcnow
from tests.conftest import csrf_from


def test_admin_creates_a_user(client, make_user, login, centre):
    login(make_user("admin"))
    token = csrf_from(client.get("/admin/"))
    response = client.post("/admin/users", data={
        "csrf_token": token, "username": "lan.nguyen", "full_name": "Nguyễn Thị Lan",
        "role": "courier", "unit": centre.code, "password": "a-long-password"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "lan.nguyen"))
    assert user.full_name == "Nguyễn Thị Lan" and user.role.value == "courier"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == "lan.nguyen"))


def test_admin_create_user_with_unknown_unit_shows_the_error_and_writes_nothing(
    client, make_user, login
):
    login(make_user("admin"))
    token = csrf_from(client.get("/admin/"))
    response = client.post("/admin/users", data={
        "csrf_token": token, "username": "ghost", "role": "clerk", "unit": "NOWHERE",
        "password": "a-long-password"})
    assert response.status_code == 422
    assert "unknown unit" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "ghost")) is None


def test_admin_unlocks_and_deactivates(client, make_user, login):
    login(make_user("admin"))
    clerk = make_user("clerk")
    clerk.locked_until = utcnow()
    db.session.commit()
    token = csrf_from(client.get("/admin/"))
    assert client.post(f"/admin/users/{clerk.id}/unlock",
                       data={"csrf_token": token}).status_code == 302
    assert client.post(f"/admin/users/{clerk.id}/deactivate",
                       data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    clerk = db.session.get(User, clerk.id)
    assert clerk.locked_until is None and clerk.active is False


def test_admin_actions_need_csrf_and_admin_role(client, make_user, login):
    clerk = make_user("clerk")
    login(make_user("manager"))
    token = csrf_from(client.get("/office/"))
    assert client.post(f"/admin/users/{clerk.id}/deactivate",
                       data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, clerk.id).active is True
