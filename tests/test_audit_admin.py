"""The administrator's audit-log page: filters by user, action, object, dates and address;
pages through long logs; refuses everyone but administrators."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from postal.core import audit_log
from postal.dossiers import corrections
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import AuditEntry
from tests.factories import local, make_dossier


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root")


@pytest.fixture
def log(admin, make_user):
    """Six entries from two users, two addresses and three days."""
    clerk = make_user("clerk", username="thu.clerk")
    rows = [
        (local(3, 3, 8), clerk, "login", "user", "thu.clerk", "10.0.0.5"),
        (local(3, 3, 9), clerk, "dossier_accept", "dossier", "H26-250303-0001", "10.0.0.5"),
        (local(3, 4, 9), clerk, "dossier_accept", "dossier", "H26-250304-0001", "10.0.0.5"),
        (local(3, 4, 23, 59), admin, "user_create", "user", "thu.clerk", "192.168.1.9"),
        (local(3, 5, 0, 0), None, "user_create", "user", "cli.user", None),
        (local(3, 5, 10), admin, "login", "user", "root", "192.168.1.9"),
    ]
    for at, user, action, kind, ident, ip in rows:
        db.session.add(AuditEntry(at=at, user=user, action=action, object_type=kind,
                                  object_id=ident, ip=ip, details={"n": 1}))
    db.session.commit()


def shown(response) -> list[str]:
    return re.findall(r'<tr data-action="([a-z_]+)">', response.get_data(as_text=True))


def test_an_administrator_sees_the_log_newest_first(client, login_form, admin, log):
    login_form(admin)
    response = client.get("/admin/audit/")
    assert response.status_code == 200
    actions = shown(response)
    # the admin's own login through the form comes first (now), then the log newest first
    assert actions[1:] == ["login", "user_create", "user_create", "dossier_accept",
                           "dossier_accept", "login"]
    html = response.get_data(as_text=True)
    assert "192.168.1.9" in html and "thu.clerk" in html


@pytest.mark.parametrize(("query", "expected"), [
    ({"user": "thu.clerk"}, ["dossier_accept", "dossier_accept", "login"]),
    ({"user": "-"}, ["user_create"]),
    ({"user": "nobody"}, []),
    ({"action": "dossier_accept"}, ["dossier_accept", "dossier_accept"]),
    ({"object_type": "dossier", "object_id": "H26-250304-0001"}, ["dossier_accept"]),
    ({"object_id": "thu.clerk"}, ["user_create", "login"]),
    ({"date_from": "2025-03-04", "date_to": "2025-03-04"}, ["user_create", "dossier_accept"]),
    ({"date_from": "2025-03-05", "user": "root"}, ["login"]),
    ({"date_to": "2025-03-03"}, ["dossier_accept", "login"]),
    ({"ip": "10.0."}, ["dossier_accept", "dossier_accept", "login"]),
    ({"ip": "192.168.1.9", "action": "login"}, ["login"]),
    ({"ip": "%"}, []),  # a wildcard is a character here, not a pattern
])
def test_the_filters_narrow_the_log(client, login, admin, log, query, expected):
    login(admin)
    query = {"date_to": "2025-12-31", **query}  # leaves out the login of the test itself
    response = client.get("/admin/audit/", query_string=query)
    assert response.status_code == 200
    assert shown(response) == expected


def test_a_long_log_is_paged_and_the_pages_keep_the_filters(client, login, admin):
    for i in range(audit_log.PER_PAGE + 5):
        db.session.add(AuditEntry(at=local(3, 3, 8, i % 60), user=admin, action="scan",
                                  object_type="item", object_id=f"I{i}", ip="10.9.9.9"))
    db.session.commit()
    login(admin)
    first = client.get("/admin/audit/", query_string={"action": "scan"})
    assert len(shown(first)) == audit_log.PER_PAGE
    html = first.get_data(as_text=True)
    assert "trang 1/2" in html
    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "action=scan" in next_url and "page=2" in next_url
    second = client.get(next_url)
    assert len(shown(second)) == 5
    assert 'rel="prev"' in second.get_data(as_text=True)


@pytest.mark.parametrize(("query", "field"), [
    ({"date_from": "03/04/2025"}, "date_from"),
    ({"date_to": "2025-02-30"}, "date_to"),
    ({"date_from": "2025-03-05", "date_to": "2025-03-01"}, "date_from"),
    ({"page": "abc"}, "page"),
    ({"page": "0"}, "page"),
    ({"user": "ro\x00ot"}, "user"),  # PostgreSQL text cannot hold NUL: refused, not a 500
    ({"object_id": "H26\x00"}, "object_id"),
])
def test_bad_filters_are_a_422_naming_the_field(client, login, admin, query, field):
    login(admin)
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = client.get("/admin/audit/", query_string=query)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and 'id="audit-entries"' not in html
    if field != "page":
        assert f'aria-describedby="{field}-error"' in html
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before


@pytest.mark.parametrize("role", ["clerk", "courier", "agency", "manager"])
def test_only_administrators_see_the_log(client, login, make_user, role):
    login(make_user(role))
    assert client.get("/admin/audit/").status_code == 403


def test_without_login_the_page_sends_to_the_login(client):
    response = client.get("/admin/audit/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_correction_shows_in_the_log_with_its_reason_and_author(client, login, admin, centre,
                                                                  make_procedure):
    dossier = make_dossier(centre, make_procedure(), state=State.AWAITING_RETURN,
                           resolved=local(3, 7, 9))
    corrections.record_correction(db.session, admin, dossier, "timeliness", "on_time",
                                  "phân loại nhầm", local(4, 1))
    db.session.commit()
    login(admin)
    response = client.get("/admin/audit/", query_string={"action": "dossier_correction"})
    html = response.get_data(as_text=True)
    assert shown(response) == ["dossier_correction"]
    assert dossier.code in html and "phân loại nhầm" in html and "root" in html
