"""Ratings on the five-level scale: once per dossier, only after the return, from the API, the
screen turned to the citizen at the counter, or the no-login link of a home delivery."""

from __future__ import annotations

import delivery_support
import pytest
from conftest import csrf_from
from delivery_support import fresh, now
from sqlalchemy import func, select, update

from postal.core.errors import Conflict, ValidationFailed
from postal.dossiers import ratings
from postal.dossiers.lifecycle import State
from postal.extensions import db
from postal.models import Dossier, Event, ReturnMethod

town = delivery_support.town


def _returned(t, **kw):
    d = t.dossier(state=State.RETURNED, **kw)
    d.returned_at, d.returned_via, d.collected_by = now(), ReturnMethod.COUNTER, "Nguyễn Nhung"
    db.session.commit()
    return d


def _rated_events() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "rated"))


def test_one_rating_per_dossier_through_the_api(town, client, api_token):
    t = town
    d = _returned(t)
    headers = api_token(t.clerk)
    url = f"/api/v1/dossiers/{d.code}/rating"
    r = client.post(url, json={"level": 4, "comment": "  Nhanh,  chu đáo "}, headers=headers)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["level"] == 4
    stored = fresh(d)
    assert (stored.rating, stored.rating_comment) == (4, "Nhanh, chu đáo")
    assert stored.rated_at is not None
    second = client.post(url, json={"level": 1}, headers=headers)
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "already_rated"
    assert fresh(d).rating == 4 and _rated_events() == 1


@pytest.mark.parametrize("level", [0, 6, -1, "tốt", None, 4.5, True])
def test_only_levels_one_to_five(town, client, api_token, level):
    d = _returned(town)
    r = client.post(f"/api/v1/dossiers/{d.code}/rating", json={"level": level},
                    headers=api_token(town.clerk))
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["field"] == "level"
    assert fresh(d).rating is None and _rated_events() == 0


def test_no_rating_before_the_result_is_returned(town, client, api_token):
    d = town.dossier()
    r = client.post(f"/api/v1/dossiers/{d.code}/rating", json={"level": 5},
                    headers=api_token(town.clerk))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_returned"
    assert fresh(d).rating is None


def test_another_units_dossier_cannot_be_rated(town, client, api_token):
    d = _returned(town)
    r = client.post(f"/api/v1/dossiers/{d.code}/rating", json={"level": 5},
                    headers=api_token(town.other_courier))
    assert r.status_code == 404


def test_two_ratings_at_once_one_wins(town):
    d = _returned(town)
    # another request rated it a moment ago; this one still holds the unrated dossier
    assert d.rating is None
    db.session.execute(update(Dossier).where(Dossier.id == d.id).values(rating=2)
                       .execution_options(synchronize_session=False))
    assert d.rating is None  # what this request read before
    with pytest.raises(Conflict):
        ratings.rate(db.session, d, 5, now=now())
    db.session.rollback()
    assert fresh(d).rating is None  # the other request never committed here


def test_the_level_rule_is_the_domains(town):
    assert [ratings.level_of(x) for x in (1, "5", 3.0)] == [1, 5, 3]
    for bad in (0, 6, "x", None, False, 2.5):
        with pytest.raises(ValidationFailed):
            ratings.level_of(bad)
    assert ratings.LEVELS[1] == "Rất kém" and ratings.LEVELS[5] == "Rất tốt"


def test_the_counter_screen_shows_five_big_buttons_and_takes_one_rating(town, client, login):
    t = town
    d = _returned(t)
    login(t.clerk)
    page = client.get(f"/delivery/rate/{d.code}")
    html = page.get_data(as_text=True)
    for level, text in ratings.LEVELS.items():
        assert f'id="level-{level}"' in html and text in html
    token = csrf_from(page)
    r = client.post(f"/delivery/rate/{d.code}", data={"level": "5", "csrf_token": token})
    assert r.status_code == 200 and "Cảm ơn" in r.get_data(as_text=True)
    assert fresh(d).rating == 5
    again = client.post(f"/delivery/rate/{d.code}", data={"level": "1", "csrf_token": token})
    assert again.status_code == 409 and "đã được đánh giá" in again.get_data(as_text=True)
    assert fresh(d).rating == 5
    event = db.session.scalars(select(Event).where(Event.kind == "rated")).one()
    assert event.data == {"level": 5, "channel": "counter"} and event.user_id == t.clerk.id


def test_the_public_link_rates_a_home_delivery_without_login(town, client, app):
    d = _returned(town)
    token = ratings.rating_token(app.config["SECRET_KEY"], d)
    page = client.get(f"/public/rate/{token}")
    assert page.status_code == 200 and 'id="level-3"' in page.get_data(as_text=True)
    r = client.post(f"/public/rate/{token}", data={"level": "3", "comment": "Bưu tá lịch sự",
                                                   "csrf_token": csrf_from(page)})
    assert r.status_code == 200 and "Cảm ơn" in r.get_data(as_text=True)
    stored = fresh(d)
    assert (stored.rating, stored.rating_comment) == (3, "Bưu tá lịch sự")
    again = client.post(f"/public/rate/{token}", data={"level": "5",
                                                       "csrf_token": csrf_from(page)})
    assert again.status_code == 409
    assert fresh(d).rating == 3
    event = db.session.scalars(select(Event).where(Event.kind == "rated")).one()
    assert event.data["channel"] == "link" and event.user_id is None


def test_a_forged_or_altered_rating_link_is_not_found(town, client, app):
    d = _returned(town)
    token = ratings.rating_token(app.config["SECRET_KEY"], d)
    forged = ratings.rating_token("another-secret", d)
    for bad in (forged, token[:-2] + "xy", "garbage"):
        assert client.get(f"/public/rate/{bad}").status_code == 404
    assert fresh(d).rating is None


def test_the_public_link_refuses_a_rating_before_delivery(town, client, app):
    d = town.dossier()
    token = ratings.rating_token(app.config["SECRET_KEY"], d)
    page = client.get(f"/public/rate/{token}")
    r = client.post(f"/public/rate/{token}", data={"level": "4", "csrf_token": csrf_from(page)})
    assert r.status_code == 409 and fresh(d).rating is None
