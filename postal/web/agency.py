"""The agency desk: what the agency holds, what arrives, and its decisions on each dossier."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from postal.core.access import dossier_for, scope_dossiers
from postal.core.errors import DomainError, Forbidden, NotFound
from postal.custody import manifests
from postal.deadlines.office import calendar_for
from postal.dossiers import decisions
from postal.dossiers.lifecycle import State, allowed_actions
from postal.extensions import db
from postal.http import papers
from postal.http.security import roles_required
from postal.models import Dossier, Item, OrgUnit, Role, utcnow

bp = Blueprint("agency", __name__, url_prefix="/agency")

OPEN_STATES = (State.ACCEPTED, State.PROCESSING, State.WAITING_SUPPLEMENT)
DECISIONS = decisions.WHO_DECIDES


def _me():
    return current_user._get_current_object()


@bp.get("/")
@roles_required(Role.AGENCY)
def index():
    user = _me()
    dossiers = db.session.scalars(
        scope_dossiers(select(Dossier), user).where(Dossier.state.in_(OPEN_STATES))
        .options(joinedload(Dossier.procedure), joinedload(Dossier.items))
        .order_by(Dossier.due_at).limit(300)
    ).unique().all()
    held, held_total, held_pages, page, q = _held(user)
    incoming = [m for m in manifests.manifests_for(db.session, user, direction="in")
                if m.status in manifests.ACTIVE]
    return render_template("home/agency.html", dossiers=dossiers, held=held, incoming=incoming,
                           waiting=manifests.items_waiting(db.session, user.unit), now=utcnow(),
                           held_total=held_total, held_pages=held_pages, page=page, q=q)


HELD_PER_PAGE = 50


def _held(user):
    """The items held in the user's units, newest arrival first, one page of them, with the
    true total; ?q= narrows to an item number or dossier code (any part of it)."""
    mine = select(OrgUnit.id).where(OrgUnit.path.startswith(user.unit.path, autoescape=True))
    stmt = select(Item).where(Item.holder_unit_id.in_(mine))
    q = (request.args.get("q") or "").strip()[:60]
    if q:
        pattern = f"%{q.upper()}%"
        stmt = stmt.join(Dossier, Dossier.id == Item.dossier_id).where(
            or_(Item.number.like(pattern), func.upper(Dossier.code).like(pattern)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max((total + HELD_PER_PAGE - 1) // HELD_PER_PAGE, 1)
    try:
        page = min(max(int(request.args.get("page", 1)), 1), pages)
    except ValueError:
        page = 1
    rows = db.session.scalars(
        stmt.options(joinedload(Item.dossier)).order_by(Item.held_since.desc(), Item.id.desc())
        .limit(HELD_PER_PAGE).offset((page - 1) * HELD_PER_PAGE)).all()
    return rows, total, pages, page, q


def _page(dossier: Dossier, errors: dict | None = None, status: int = 200):
    return render_template(
        "agency/dossier.html", dossier=dossier, errors=errors or {}, form=request.form,
        allowed={a.value for a in allowed_actions(dossier.state)},
        extension=decisions.last_extension(db.session, dossier),
        mine={a for a in DECISIONS if decisions.may_take(_me(), dossier, a)},
    ), status


@bp.get("/dossiers/<code>")
@roles_required(Role.AGENCY, Role.CLERK)
def dossier(code):
    return _page(dossier_for(db.session, _me(), code))


def _decide(action: str, user, found: Dossier) -> str:
    now, form = utcnow(), request.form
    if action == "result":
        item = decisions.mark_result_ready(db.session, user, found, now=now, note=form.get("note"))
        return _("Đã có kết quả: %(number)s", number=item.number)
    if action == "supplement":
        decisions.request_supplement(db.session, user, found, reason=form.get("reason"),
                                  documents=(form.get("documents") or "").splitlines(), now=now)
        return _("Đã yêu cầu bổ sung hồ sơ; thời hạn tạm dừng.")
    calendar = calendar_for(db.session, current_app.config)
    if action == "supplement-received":
        decisions.receive_supplement(db.session, user, found, now=now, calendar=calendar,
                                  note=form.get("note"))
        return _("Đã nhận hồ sơ bổ sung; hạn mới được tính lại.")
    if action == "extend":
        decisions.extend(db.session, user, found, new_date=form.get("new_date"),
                      reason=form.get("reason"), now=now, calendar=calendar)
        return _("Đã gia hạn: in phiếu xin lỗi và hẹn lại.")
    if action == "stop":
        decisions.stop(db.session, user, found, reason=form.get("reason"), now=now)
        return _("Đã dừng giải quyết hồ sơ.")
    decisions.withdraw(db.session, user, found, reason=form.get("reason"), now=now)
    return _("Đã ghi nhận công dân rút hồ sơ.")


@bp.post("/dossiers/<code>/<action>")
@roles_required(Role.AGENCY, Role.CLERK)
def decide(code, action):
    if action not in DECISIONS:
        raise NotFound(f"no action {action!r}")
    user = _me()
    found = dossier_for(db.session, user, code)
    if user.role != Role.ADMIN and user.role not in DECISIONS[action]:
        raise Forbidden(f"vai trò {user.role.value} không được thực hiện {action}")
    try:
        message = _decide(action, user, found)
    except (NotFound, Forbidden):
        raise
    except DomainError as exc:
        db.session.rollback()
        return _page(dossier_for(db.session, user, code), {action: exc.message}, exc.status)
    flash(message)
    return redirect(url_for(".dossier", code=code), 303)


@bp.get("/dossiers/<code>/apology.pdf")
@roles_required(Role.AGENCY, Role.CLERK, Role.MANAGER)
def apology(code):
    return papers.apology_response(db.session, dossier_for(db.session, _me(), code))
