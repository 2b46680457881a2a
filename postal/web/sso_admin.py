"""The administrator's single sign-on page: the rules from a provider's claims to a role and
unit (the first matching rule wins), and the identities linked to accounts."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from postal.core import accounts, audit, sso
from postal.core.errors import DomainError, NotFound
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, SsoIdentity, User

bp = Blueprint("sso_admin", __name__, url_prefix="/admin/sso")


def _page(values: dict, errors: dict, status: int = 200):
    identities = db.session.scalars(
        select(SsoIdentity).order_by(SsoIdentity.created_at, SsoIdentity.id)).all()
    return render_template(
        "sso/admin.html", rules=sso.rules(db.session), identities=identities, values=values,
        errors=errors, roles=[r.value for r in Role],
        issuer=current_app.config.get("OIDC_ISSUER") or "",
    ), status


def _position(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit() or abs(int(raw)) > 1_000_000:
        raise DomainError("position: a whole number", field="position", code="validation_failed")
    return int(raw)


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    return _page({}, {})


@bp.post("/rules")
@roles_required(Role.ADMIN)
def add_rule():
    form = request.form
    try:
        unit = accounts.unit_by_code(db.session, form.get("unit", ""))
        rule = sso.add_rule(db.session, claim=form.get("claim", ""), value=form.get("value", ""),
                            role=form.get("role", ""), unit=unit,
                            position=_position(form.get("position")))
    except DomainError as exc:
        db.session.rollback()
        status = 422 if exc.status in (400, 404) else exc.status
        return _page(form, {exc.field or "form": exc.message}, status)
    audit.record(db.session, current_user._get_current_object(), "sso_rule_add", "sso_rule",
                 rule.id, claim=rule.claim, value=rule.value, role=rule.role.value,
                 unit=unit.code, position=rule.position)
    flash(_("Đã thêm quy tắc."))
    return redirect(url_for(".index"), 303)


@bp.post("/rules/<int:rule_id>/delete")
@roles_required(Role.ADMIN)
def delete_rule(rule_id: int):
    rule = sso.remove_rule(db.session, rule_id)
    audit.record(db.session, current_user._get_current_object(), "sso_rule_delete", "sso_rule",
                 rule_id, claim=rule.claim, value=rule.value)
    flash(_("Đã xoá quy tắc."))
    return redirect(url_for(".index"), 303)


@bp.post("/identities")
@roles_required(Role.ADMIN)
def link():
    """Link an existing account to the provider's person by their subject (`sub`): never done
    by a matching name at login, only here, by an administrator."""
    form = request.form
    issuer = current_app.config.get("OIDC_ISSUER") or ""
    try:
        if not issuer:
            raise DomainError(_("Chưa cấu hình đăng nhập một lần (OIDC_ISSUER)."), field="form")
        name = (form.get("username") or "").strip().lower()
        user = db.session.scalar(select(User).where(User.username == name))
        if user is None:
            raise NotFound(f"unknown user {name!r}", field="username")
        identity = sso.link(db.session, user, issuer=issuer, subject=form.get("subject", ""))
    except DomainError as exc:
        db.session.rollback()
        status = 422 if exc.status in (400, 404) else exc.status
        return _page(form, {exc.field or "form": exc.message}, status)
    audit.record(db.session, current_user._get_current_object(), "sso_link", "user",
                 user.username, issuer=issuer, subject=identity.subject)
    flash(_("Đã liên kết tài khoản %(name)s.", name=user.username))
    return redirect(url_for(".index"), 303)


@bp.post("/identities/<int:identity_id>/delete")
@roles_required(Role.ADMIN)
def unlink(identity_id: int):
    identity = sso.unlink(db.session, identity_id)
    audit.record(db.session, current_user._get_current_object(), "sso_unlink", "user",
                 identity.user.username, issuer=identity.issuer, subject=identity.subject)
    flash(_("Đã bỏ liên kết."))
    return redirect(url_for(".index"), 303)
