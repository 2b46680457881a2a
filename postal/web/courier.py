"""The courier's phone: continuous scanning (offline-safe, in courier.js), what waits to be
collected, home pickups, and what makes the phone an installable app that works without
network — its web app manifest, its service worker (served here, at a path whose scope may
be the whole site) and the page it shows for a page it has not kept."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import uuid
from functools import cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_login import current_user

from postal.core.errors import DomainError, NotFound
from postal.custody import Scan, pickups, record_scan
from postal.delivery import workload
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, utcnow

bp = Blueprint("courier", __name__, url_prefix="/courier")

# what the service worker keeps on install (the pages themselves are kept as they are used)
SHELL_ASSETS = (
    "app.css", "custody.css", "delivery.css", "phone.css", "favicon.svg",
    "phone/outbox.js", "phone/shell.js", "courier.js", "delivery.js",
    "vendor/signature_pad/signature_pad.umd.min.js", "vendor/zxing/zxing-browser.min.js",
    "icons/courier-192.png", "icons/courier-512.png",
)


@bp.app_context_processor
def _phone_clock():
    """`phone_now()`: the server's time a courier page was made, so the phone can say how old
    a page it kept is."""
    return {"phone_now": lambda: utcnow().isoformat()}


@bp.before_app_request
def _prefetch_keeps_flashes():
    """The phone keeps its pages by fetching them in the background: such a fetch must not
    take the message ("flash") meant for the page the courier opens next."""
    if request.headers.get("X-Postal-Prefetch"):
        request_ctx.flashes = []


def _page(status: int = 200, error: str | None = None, focus: str | None = None):
    user = current_user._get_current_object()
    work = workload.courier_work(db.session, user, utcnow())
    return render_template("home/courier.html", work=work, error=error, focus=focus,
                           pickups=pickups.pickups_for_courier(db.session, user)), status


@bp.get("/")
@roles_required(Role.COURIER)
def index():
    return _page()


def _scan(number: str, event: str, recipient: str | None = None):
    """Record a pickup's scan made from a form (online), with a fresh id."""
    user = current_user._get_current_object()
    now = utcnow()
    result = record_scan(db.session, user, Scan(id=str(uuid.uuid4()), barcode=number, event=event,
                                                at=now, recipient=recipient), now)
    if result.status != "accepted":
        return _page(422, result.message, number)
    flash(_("Đã ghi: %(number)s", number=number))
    return redirect(url_for(".index"), 303)


@bp.post("/pickups/<number>/collect")
@roles_required(Role.COURIER)
def collect(number):
    """Collected at the door; the citizen's name is their confirmation."""
    pickups.pickup_by_number(db.session, current_user._get_current_object(), number)
    return _scan(number, "pickup", (request.form.get("recipient") or "").strip())


@bp.post("/pickups/<number>/hand-in")
@roles_required(Role.COURIER)
def hand_in(number):
    pickups.pickup_by_number(db.session, current_user._get_current_object(), number)
    return _scan(number, "handover")


@bp.post("/pickups/<number>/fail")
@roles_required(Role.COURIER)
def fail(number):
    user = current_user._get_current_object()
    pickup = pickups.pickup_by_number(db.session, user, number)
    try:
        pickups.fail_pickup(db.session, user, pickup, request.form.get("reason"), utcnow())
    except DomainError as exc:
        db.session.rollback()
        return _page(exc.status, exc.message, number)
    flash(_("Đã ghi nhận thu gom không thành công: %(number)s", number=number))
    return redirect(url_for(".index"), 303)


@bp.get("/offline")
@roles_required(Role.COURIER)
def offline():
    """Shown by the service worker for a page the phone has not kept."""
    return render_template("courier_offline.html")


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: the courier's pages installed as an app on the phone. Public:
    browsers fetch it without the session cookie, and it names nobody."""
    body = {
        "name": _("Bưu tá – Một cửa"), "short_name": _("Bưu tá"),
        "description": _("Quét, giao và ghi bằng chứng tại nhà, cả khi mất mạng"),
        "lang": "vi", "start_url": url_for(".index"), "scope": "/", "display": "standalone",
        "orientation": "portrait", "background_color": "#ffffff", "theme_color": "#0b4f9c",
        "icons": [
            {"src": url_for("static", filename=f"icons/courier-{n}.png"), "sizes": f"{n}x{n}",
             "type": "image/png", "purpose": "any maskable"} for n in (192, 512)],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})


@cache
def _worker_source(static: str) -> str:
    """sw.js with its cache version (a digest of the shell it keeps) and that shell's list:
    a new release of any asset is a new worker, which the phone installs on its next visit."""
    root = Path(static)
    digest = hashlib.sha256((root / "sw.js").read_bytes())
    for name in SHELL_ASSETS:
        digest.update((root / name).read_bytes())
    source = (root / "sw.js").read_text(encoding="utf-8")
    return (source.replace("__VERSION__", digest.hexdigest()[:12])
            .replace('"__ASSETS__"', json.dumps(list(SHELL_ASSETS))))


@bp.get("/shell/<path:name>")
def shell(name):
    """A file of the shell as the service worker keeps it (its copy goes under /static/):
    read whole, so that a download cut by the network going away leaves no file open."""
    if name not in SHELL_ASSETS:
        raise NotFound(_("Không có tệp này"))
    path = Path(current_app.static_folder) / name
    return Response(path.read_bytes(), mimetype=mimetypes.guess_type(name)[0],
                    headers={"Cache-Control": "no-cache"})


@bp.get("/sw.js")
def service_worker():
    """The service worker, allowed to control the whole site (it only handles the courier's
    pages and the static files). Public, like any script: it holds no data."""
    build = _worker_source.__wrapped__ if current_app.debug else _worker_source  # edits show
    source = build(current_app.static_folder)
    return Response(source, mimetype="text/javascript",
                    headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})
