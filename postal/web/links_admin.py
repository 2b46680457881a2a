"""The administrator's links to other systems: webhook subscribers, and the dead-letter list
of deliveries that failed every try, each replayable by hand."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from postal.core import audit
from postal.core.errors import DomainError
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import DeliveryStatus, LinkDelivery, Role, utcnow
from postal.outbox import links, webhooks
from postal.outbox.events import EVENT_NAMES

bp = Blueprint("links_admin", __name__, url_prefix="/admin/links")


def _page(values: dict, errors: dict, status: int = 200):
    counts = dict(db.session.execute(
        select(LinkDelivery.status, func.count()).group_by(LinkDelivery.status)).all())
    config = current_app.config
    return render_template(
        "links/index.html", subscribers=webhooks.subscribers(db.session),
        dead=links.dead_letters(db.session), counts={s.value: counts.get(s, 0)
                                                     for s in DeliveryStatus},
        events=EVENT_NAMES, values=values, errors=errors,
        portal_on=bool(config.get("PORTAL_SYNC_URL")), vnpost_on=bool(config.get("VNPOST_URL")),
        sender=config.get("NOTIFY_SENDER") or "log",
    ), status


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    return _page({}, {})


@bp.post("/webhooks")
@roles_required(Role.ADMIN)
def subscribe():
    form = request.form
    values = {"url": form.get("url", ""), "events": form.getlist("events")}
    try:
        subscriber = webhooks.subscribe(db.session, url=form.get("url", ""),
                                        secret=form.get("secret", ""),
                                        events=form.getlist("events"))
    except DomainError as error:
        return _page(values, {error.field or "form": error.message}, 422)
    audit.record(db.session, current_user._get_current_object(), "webhook_subscribe",
                 "webhook", str(subscriber.id), url=subscriber.url)
    flash(_("Đã đăng ký địa chỉ nhận %(url)s.", url=subscriber.url))
    return redirect(url_for("links_admin.index"))


@bp.post("/webhooks/<int:subscriber_id>/delete")
@roles_required(Role.ADMIN)
def unsubscribe(subscriber_id: int):
    subscriber = webhooks.unsubscribe(db.session, subscriber_id)
    audit.record(db.session, current_user._get_current_object(), "webhook_unsubscribe",
                 "webhook", str(subscriber.id), url=subscriber.url)
    flash(_("Đã ngừng gửi đến %(url)s.", url=subscriber.url))
    return redirect(url_for("links_admin.index"))


@bp.post("/deliveries/<int:delivery_id>/replay")
@roles_required(Role.ADMIN)
def replay(delivery_id: int):
    delivery = links.replay(db.session, delivery_id, now=utcnow())
    audit.record(db.session, current_user._get_current_object(), "link_replay",
                 "link_delivery", delivery.key, target=delivery.target)
    flash(_("Đã xếp lại lần gửi %(key)s.", key=delivery.key))
    return redirect(url_for("links_admin.index"))
