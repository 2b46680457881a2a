"""A district manager corrects a dossier's timeliness class on its page in headless Chromium:
a missing reason is refused on the page, then the correction shows with old and new values."""

from __future__ import annotations

import pytest

from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Dossier, Timeliness
from tests.conftest import PASSWORD
from tests.factories import local, make_dossier

pytestmark = pytest.mark.browser


def test_a_manager_corrects_the_class_on_the_dossier_page(live_server, browser_page, make_user,
                                                         centre, make_procedure):
    manager = make_user("manager", username="quanly1")
    late = make_dossier(centre, make_procedure(), state=State.AWAITING_RETURN,
                        received=local(3, 3, 8), due=local(3, 5, 17),
                        resolved=local(3, 5, 17, 1))
    db.session.commit()
    page, problems = browser_page, []
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.goto(f"{live_server}/login")
    page.fill("#username", manager.username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(f"{live_server}/office/**")

    page.goto(f"{live_server}/timeline/{late.code}")
    page.select_option("#c-field", "timeliness")
    page.fill("#c-value", "on_time")
    page.click("#c-submit")  # no reason: refused, the input kept
    assert page.locator("#reason-error").is_visible()
    assert page.input_value("#c-value") == "on_time"

    page.fill("#c-reason", "Quá hạn do sự cố mạng của tỉnh, Nguyễn Thị Hồng Nhung xác nhận")
    page.click("#c-submit")
    rows = page.locator("#correction-list tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "Quá hạn" in text and "Đúng hạn" in text and "Nguyễn Thị Hồng Nhung" in text
    assert problems == []  # the page passes its content security policy
    db.session.rollback()  # end the test's read snapshot
    assert db.session.get(Dossier, late.id).timeliness == Timeliness.ON_TIME
