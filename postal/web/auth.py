"""Login, logout and the language switch."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from postal.core import accounts, audit
from postal.extensions import db
from postal.http.security import login_budgets, session_for, session_key
from postal.web.forms import LoginForm

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """`target` if it is a path of this site, else the home page. Browsers drop tabs and
    newlines and read a backslash as a slash, so a slash, a tab and "/evil.example" would leave
    the site: anything with a control character, a space or a backslash is refused, and what
    is left must parse as a bare path."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or any(c in target for c in "\\ ") or not target.isprintable()):
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return url_for("home.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@login_budgets
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
        lang = session.get("lang")
        session.clear()  # nothing of the anonymous visit carries over (session fixation)
        session.update(session_for(db.session, user))
        if lang:
            session["lang"] = lang
        audit.record(db.session, user, "login", "user", user.username, provider="password")
        return redirect(safe_next(request.args.get("next")))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    audit.record(db.session, current_user._get_current_object(), "logout", "user",
                 current_user.username)
    key = session_key()
    if key:
        accounts.end_session(db.session, key)  # a saved copy of the cookie opens nothing now
    logout_user()
    flash(_("Đã đăng xuất."))
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
