"""The dashboard: the period's figures beside the previous period's, charts, what is overdue
now, the breakdowns, and closing a month."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from postal.core.errors import ValidationFailed
from postal.documents.charts import Bar, bars_svg, columns_svg, split_svg
from postal.extensions import db
from postal.http.security import roles_required
from postal.models import OrgUnit, Role, UnitKind
from postal.reporting import closing
from postal.reporting.exports import LABELS
from postal.reporting.report import monthly_data
from postal.web.office.common import (
    asked_period,
    asked_unit,
    behind,
    bp,
    now,
    today,
)

BREAKDOWNS = ("field", "agency", "commune", "channel")

CHANNELS = {"counter": "Tại quầy", "home_pickup": "Thu gom tại nhà", "online": "Trực tuyến"}


def _charts(data, unit) -> dict[str, Markup]:
    f, t, fig = data.date_from, data.date_to, data.figures
    split = [Bar(LABELS[k].strip("— ").capitalize(), fig[k], behind(k, f, t, unit), tone)
             for k, tone in (("resolved_early", "early"), ("resolved_on_time", "on_time"),
                             ("resolved_late", "late"))]
    levels = fig["satisfaction"]["levels"]
    satisfaction = [Bar(LABELS[f"rating_{n}"], levels[str(n)],
                        behind(f"rating_{n}", f, t, unit), f"level{n}") for n in range(1, 6)]
    channels = [Bar(CHANNELS[c], fig[f"received_{c}"], behind(f"received_{c}", f, t, unit))
                for c in CHANNELS]

    def trend(points, fmt):
        return [Bar(fmt(p), round((p["home_delivery_rate"] or 0) * 100, 1),
                    behind("returned_home", p["start"], p["end"], unit), "home",
                    text=f"{(p['home_delivery_rate'] or 0) * 100:.0f}%" if p["returned"] else "—")
                for p in points]

    return {
        "split": Markup(split_svg(split, title=_("Trước hạn / đúng hạn / quá hạn"))),
        "satisfaction": Markup(bars_svg(satisfaction, title=_("Mức độ hài lòng"))),
        "channels": Markup(bars_svg(channels, title=_("Tiếp nhận theo kênh"))),
        "weekly": Markup(columns_svg(trend(data.weekly, lambda p: f"{p['start']:%d/%m}"),
                                     title=_("Tỷ lệ trả tại nhà theo tuần"), maximum=100)),
        "monthly": Markup(columns_svg(trend(data.monthly, lambda p: f"{p['start']:%m/%y}"),
                                      title=_("Tỷ lệ trả tại nhà theo tháng"), maximum=100)),
    }


def _closable(unit) -> list[date]:
    """The last twelve finished months not closed yet."""
    closed = {c.month for c in closing.closures(db.session, unit)}
    first = today().replace(day=1)
    out = []
    for back in range(1, 13):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        month_start = date(year, month + 1, 1)
        if month_start not in closed:
            out.append(month_start)
    return out


def _units(unit) -> list[OrgUnit]:
    """Units the manager can pick: their own and the centres and communes below it."""
    return list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.path.startswith(current_user.unit.path, autoescape=True),
                              OrgUnit.kind != UnitKind.AGENCY)
        .order_by(OrgUnit.path).limit(400)))


@bp.get("/")
@roles_required(Role.MANAGER)
def index():
    unit = asked_unit()
    date_from, date_to = asked_period()
    data = monthly_data(db.session, unit, date_from, date_to, now=now(), breakdowns=BREAKDOWNS,
                        overdue=True)
    tiles = data.headline(current_app.config["HOME_DELIVERY_TARGET"] / 100)
    return render_template(
        "home/office.html", data=data, unit=unit, charts=_charts(data, unit), labels=LABELS,
        tiles=tiles,
        behind=behind, channels=CHANNELS, closures=closing.closures(db.session, unit)[:12],
        closable=_closable(unit), units=_units(unit), today=today(),
        month_bounds=closing.month_bounds,
    )


@bp.post("/close")
@roles_required(Role.MANAGER)
def close_month():
    unit = asked_unit()
    try:
        month = date.fromisoformat(request.form.get("month", "") + "-01")
    except ValueError:
        raise ValidationFailed(_("chọn tháng cần khoá"), field="month") from None
    closure = closing.close_month(db.session, current_user, unit, month, now=now())
    first, last = closing.month_bounds(closure.month)
    flash(_("Đã khoá số liệu tháng %(m)s.", m=f"{first:%m/%Y}"), "ok")
    return redirect(url_for("office.index", unit=unit.code, **{"from": first.isoformat(),
                                                              "to": last.isoformat()}))


