"""Administration: staff accounts (create, unlock, deactivate, reset password)."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from postal.core import accounts, audit
from postal.core.errors import DomainError
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


class UserForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(3, 80)])
    full_name = StringField("full_name", validators=[Length(max=200)])
    role = SelectField("role", choices=[r.value for r in Role])
    unit = StringField("unit", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("password", validators=[DataRequired(), Length(8, 200)])


class ActionForm(FlaskForm):
    """CSRF only: the buttons beside each user."""


def _page(form, status=200):
    users = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    return render_template("home/admin.html", users=users, form=form,
                           action_form=ActionForm()), status


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    return _page(UserForm())


@bp.post("/users")
@roles_required(Role.ADMIN)
def create_user():
    form = UserForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        unit = accounts.unit_by_code(db.session, form.unit.data)
        user = accounts.create_user(db.session, form.username.data, form.password.data,
                                    form.role.data, unit, full_name=form.full_name.data)
    except DomainError as exc:
        db.session.rollback()
        getattr(form, exc.field or "username").errors.append(exc.message)
        return _page(form, 422)
    audit.record(db.session, current_user, "user_create", "user", user.username,
                 role=user.role.value, unit=unit.code)
    flash(_("Đã tạo tài khoản %(name)s.", name=user.username))
    return redirect(url_for("admin.index"))


@bp.post("/users/<int:user_id>/<any(unlock, deactivate, activate, revoke):action>")
@roles_required(Role.ADMIN)
def change_user(user_id: int, action: str):
    user = db.get_or_404(User, user_id)
    if not ActionForm().validate_on_submit():
        return _page(UserForm(), 400)
    if action == "unlock":
        user.locked_until, user.failed_logins = None, 0
    elif action == "deactivate":
        if user.id == current_user.id:
            raise DomainError(_("Không thể tự khoá tài khoản của mình."), code="forbidden")
        accounts.deactivate(db.session, user)
    elif action == "revoke":  # sign out everywhere: every session and token so far
        accounts.revoke_all(db.session, user)
    else:
        user.active = True
    audit.record(db.session, current_user, f"user_{action}", "user", user.username)
    flash(_("Đã cập nhật tài khoản %(name)s.", name=user.username))
    return redirect(url_for("admin.index"))
