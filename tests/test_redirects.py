"""Only paths of this site are followed after login or a language switch; odd ones never 500."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, csrf_from

LEAVING = ["/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example", "//evil.example",
           "/%5Cevil.example", "/\\evil.example", "https://evil.example/", "/%20/evil.example",
           "javascript:alert(1)", "/%E2%80%8B/evil.example"]


@pytest.mark.parametrize("target", LEAVING)
def test_the_language_switch_stays_on_the_site(client, target):
    answer = client.get(f"/lang/vi?next={target}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


@pytest.mark.parametrize("target", LEAVING)
def test_login_stays_on_the_site(client, make_user, target):
    user = make_user("clerk")
    page = client.get("/login")
    answer = client.post(f"/login?next={target}", data={
        "username": user.username, "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


def test_a_path_of_the_site_is_followed(client):
    answer = client.get("/lang/en?next=/public/status%3Fcode%3D1")
    assert answer.headers["Location"] == "/public/status?code=1"
