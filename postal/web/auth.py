"""Login, logout and the language switch."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from postal.core import accounts, audit
from postal.extensions import db, limiter
from postal.web.forms import LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        cfg = current_app.config
        try:
            user = accounts.authenticate(
                db.session, form.username.data, form.password.data,
                max_failures=cfg["LOGIN_MAX_FAILURES"], lock_minutes=cfg["LOGIN_LOCK_MINUTES"],
            )
        except accounts.AccountLocked as exc:
            db.session.commit()
            form.password.errors.append(_("Tài khoản bị khoá tạm thời do đăng nhập sai nhiều lần."))
            return render_template("auth/login.html", form=form, locked=exc.message), 423
        except accounts.LoginRefused:
            db.session.commit()  # keep the failure count
            form.password.errors.append(_("Sai tên đăng nhập hoặc mật khẩu."))
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        audit.record(db.session, user, "login", "user", user.username)
        return redirect(_safe_next(request.args.get("next")))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    audit.record(db.session, current_user._get_current_object(), "logout", "user",
                 current_user.username)
    logout_user()
    flash(_("Đã đăng xuất."))
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def language(code: str):
    from flask import session

    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
