"""The report of domain.md ("Report definitions"), computed in one place from the dossiers.

Every figure counts dossiers of a unit subtree (by receiving unit) whose moments fall in or
around a period of local dates: [from 00:00, the day after `to` 00:00) in Asia/Ho_Chi_Minh.
`conditions()` holds the row condition behind each figure: `summary` and `breakdown` count
them in one aggregate query (conditional COUNTs), `dossiers_behind` lists the rows of any one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from postal.core.access import sees_unit
from postal.core.errors import NotFound, ValidationFailed
from postal.core.reference import normalise_admin_code
from postal.core.text import clean
from postal.core.time import TZ
from postal.models import (
    Channel,
    Dossier,
    Item,
    OrgUnit,
    Procedure,
    ReturnMethod,
    Timeliness,
    UnitKind,
)

D = Dossier
LEVELS = (1, 2, 3, 4, 5)
COUNTS = (
    "carried_over", "received", "handled", "resolved", "resolved_early", "resolved_on_time",
    "resolved_late", "in_process", "in_process_on_time", "in_process_overdue",
    "in_process_waiting", "withdrawn", "returned", "returned_home", "returned_counter",
    "received_counter", "received_home_pickup", "received_online",
)
RATES = {
    "resolved_rate": ("resolved", "handled"), "in_process_rate": ("in_process", "handled"),
    "early_rate": ("resolved_early", "resolved"), "on_time_rate": ("resolved_on_time", "resolved"),
    "late_rate": ("resolved_late", "resolved"), "home_delivery_rate": ("returned_home", "returned"),
}
# counted in SQL; the other figures are sums of these (received by channel, in process by
# clock, returned by way; resolved is counted itself so a missing timeliness would show)
BASE = (
    "carried_over", "received_counter", "received_home_pickup", "received_online", "resolved",
    "resolved_early", "resolved_on_time", "resolved_late", "in_process_on_time",
    "in_process_overdue", "in_process_waiting", "withdrawn", "returned_home", "returned_counter",
    *(f"rating_{n}" for n in LEVELS),
)
FIGURES = (*COUNTS, "rated", "satisfied", *(f"rating_{n}" for n in LEVELS))
# SQLite reads rows found through an index one by one; past this many a plain scan is cheaper
SQLITE_INDEX_ROWS = 20_000


# Report periods people type (the API's and the pages' ?from=&to=): from 2000 to a year ahead.
# Further out is a typing slip, and at the ends of the calendar the period's bounds overflow
# (9999-12-31 has no next day).
EARLIEST = date(2000, 1, 1)
AHEAD = timedelta(days=366)


def parse_period(date_from, date_to, *, today: date | None = None) -> tuple[date, date]:
    """Dates from 'YYYY-MM-DD' strings (or dates); ValidationFailed names the bad one.

    Text, which someone typed, must fall within EARLIEST .. `today` (default: the local date)
    + AHEAD. Dates come from the code (a previous period may well start before EARLIEST) and
    are taken as they are.
    """
    out = []
    latest = None
    for name, value in (("from", date_from), ("to", date_to)):
        if isinstance(value, date):
            out.append(value)
            continue
        try:
            day = date.fromisoformat(str(value or "").strip())
        except ValueError:
            raise ValidationFailed(f"{name}: expected a date YYYY-MM-DD, got {value!r}",
                                   field=name) from None
        latest = latest or (today or datetime.now(TZ).date()) + AHEAD
        if not EARLIEST <= day <= latest:
            raise ValidationFailed(f"{name}: a date from {EARLIEST.isoformat()} to "
                                   f"{latest.isoformat()}, got {value!r}", field=name)
        out.append(day)
    if out[0] > out[1]:
        raise ValidationFailed("the period starts after it ends", field="from")
    return out[0], out[1]


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """Bounds [start, end) of the local dates from..to inclusive, as aware datetimes."""
    date_from, date_to = parse_period(date_from, date_to)
    bounds = []
    # moments are stored in UTC: the first and last days of the calendar have no bounds there
    for name, day, after in (("from", date_from, 0), ("to", date_to, 1)):
        try:
            bound = datetime.combine(day + timedelta(days=after), time(0), tzinfo=TZ)
            bound.astimezone(UTC)
        except OverflowError:
            raise ValidationFailed(f"{name}: the period runs off the calendar",
                                   field=name) from None
        bounds.append(bound)
    return bounds[0], bounds[1]


def previous_period(date_from: date, date_to: date) -> tuple[date, date]:
    """The period of the same length just before; whole months map to whole months."""
    if date_from.day == 1 and (date_to + timedelta(days=1)).day == 1:
        months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
        year, month = divmod(date_from.year * 12 + date_from.month - 1 - months, 12)
        return date(year, month + 1, 1), date_from - timedelta(days=1)
    return date_from - (date_to - date_from) - timedelta(days=1), date_from - timedelta(days=1)


def unit_by_code(session: Session, code: str) -> OrgUnit:
    """The unit a report is asked for, by its code as people type it ('18304', '42')."""
    unit = session.scalars(select(OrgUnit).where(
        OrgUnit.code.in_(normalise_admin_code(clean(code))))).first()
    if unit is None:
        raise NotFound(f"unknown unit {code!r}", field="unit")
    return unit


def visible_unit(session: Session, user, code: str | None) -> OrgUnit:
    """The unit a report asks for by `code` if `user` sees it (NotFound otherwise, so units
    outside one's subtree cannot be probed); no code: the user's own unit."""
    code = (code or "").strip()
    if not code:
        return user.unit
    try:
        unit = unit_by_code(session, code)
    except NotFound:
        unit = None
    if unit is None or not sees_unit(user, unit):
        raise NotFound(f"không có đơn vị {code!r} trong phạm vi của bạn", field="unit")
    return unit


def subtree_ids(session: Session, unit: OrgUnit | None) -> list[int] | None:
    """Ids of `unit` and every unit below it (None: no unit, every dossier)."""
    if unit is None:
        return None
    return list(session.scalars(
        select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))))


def in_units(ids: list[int] | None, col=lambda c: c) -> ColumnElement[bool]:
    return true() if ids is None else col(D.unit_id).in_(ids)


def _open_at(moment, col=lambda c: c) -> ColumnElement[bool]:
    """Accepted before `moment`, neither resolved nor closed before it."""
    return and_(
        col(D.received_at) < moment,
        or_(col(D.resolved_at).is_(None), col(D.resolved_at) >= moment),
        or_(col(D.closed_at).is_(None), col(D.closed_at) >= moment),
    )


def _waiting_at(moment) -> ColumnElement[bool]:
    """Paused for supplements and not resumed at `moment` (a resumed_at older than paused_at
    belongs to an earlier pause). Never NULL, so that NOT waiting is true for the others."""
    return and_(D.paused_at.is_not(None), D.paused_at < moment, or_(
        D.resumed_at.is_(None), D.resumed_at >= moment, D.resumed_at < D.paused_at))


def _in_process_at(moment) -> ColumnElement[bool]:
    """Neither resolved nor closed before `moment` (accepted before it: the caller's term)."""
    return and_(or_(D.resolved_at.is_(None), D.resolved_at >= moment),
                or_(D.closed_at.is_(None), D.closed_at >= moment))


def overdue_at(moment, *, accepted_before: bool = True) -> ColumnElement[bool]:
    """In process at `moment`, not paused for supplements, and its due moment already past
    (at the due moment itself it is not overdue yet). The one definition behind the report's
    `in_process_overdue`, the dashboard's "overdue now" and their lists of dossiers. A query
    whose scope already keeps rows accepted before `moment` leaves that term out."""
    terms = [_in_process_at(moment), ~_waiting_at(moment), D.due_at < moment]
    if accepted_before:
        terms.insert(0, D.received_at < moment)
    return and_(*terms)


def as_of(end: datetime, now: datetime | None = None) -> datetime:
    """The moment a period's "in process" figures describe: its end, or now while the period
    is still running (a dossier due at 17:00 today is not overdue at 08:00)."""
    return min(end, now or datetime.now(UTC))


def conditions(start: datetime, end: datetime, *, now: datetime | None = None
               ) -> dict[str, ColumnElement[bool]]:
    """The row condition behind each figure of the period [start, end), for rows accepted
    before `end` (the terms `scope` and `dossiers_behind` add)."""
    received = and_(D.received_at >= start, D.received_at < end)
    resolved = and_(D.resolved_at >= start, D.resolved_at < end)
    moment = as_of(end, now)
    # open at the end (or now, which is earlier; the scope keeps rows accepted before it)
    in_process = _in_process_at(moment)
    waiting = _waiting_at(moment)
    returned = and_(D.returned_at >= start, D.returned_at < end)
    rated = and_(D.rated_at >= start, D.rated_at < end)
    # cheap equality tests first: AND stops at the first false term
    return {
        "carried_over": _open_at(start),
        "received": received,
        **{f"received_{c.value}": and_(D.channel == c, received) for c in Channel},
        "handled": or_(_open_at(start), received),
        "resolved": resolved,
        **{f"resolved_{t.value}": and_(D.timeliness == t, resolved) for t in Timeliness},
        "in_process": in_process,
        "in_process_waiting": and_(in_process, waiting),
        "in_process_overdue": overdue_at(moment, accepted_before=False),
        "in_process_on_time": and_(in_process, ~waiting,
                                   or_(D.due_at.is_(None), D.due_at >= moment)),
        "withdrawn": and_(D.closed_at >= start, D.closed_at < end),
        "returned": returned,
        "returned_home": and_(D.returned_via == ReturnMethod.HOME, returned),
        "returned_counter": and_(returned, or_(D.returned_via.is_(None),
                                               D.returned_via != ReturnMethod.HOME)),
        "rated": and_(rated, D.rating.is_not(None)),
        "satisfied": and_(D.rating >= 4, rated),
        **{f"rating_{n}": and_(D.rating == n, rated) for n in LEVELS},
    }


def _hide(column):
    """Unary plus: the same value, but SQLite's planner will not use an index for it."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _same(column):
    return column


def _planner(session: Session, *indexed) -> Callable:
    """How to write the columns of a WHERE: as they are, or hidden from SQLite's planner.

    SQLite keeps no histograms: for a province it would walk an index on (unit_id, …) and
    fetch every row by id, several times slower than one pass over the table. So when the
    index terms match many rows (an index-only count tells, in milliseconds), hide them.
    """
    if session.get_bind().dialect.name != "sqlite":
        return _same
    many = session.scalar(select(func.count()).where(*indexed)) > SQLITE_INDEX_ROWS
    return _hide if many else _same


def _scope(session: Session, unit: OrgUnit | None, start: datetime, end: datetime
           ) -> tuple[list, Callable]:
    ids = subtree_ids(session, unit)
    col = _planner(session, in_units(ids), D.received_at < end)
    return [
        in_units(ids, col),
        col(D.received_at) < end,
        or_(col(D.closed_at).is_(None), col(D.closed_at) >= start),
        or_(col(D.resolved_at).is_(None), col(D.resolved_at) >= start,
            col(D.returned_at) >= start, col(D.rated_at) >= start),
    ], col


def scope(session: Session, unit: OrgUnit | None, start: datetime, end: datetime) -> list:
    """WHERE terms for the subtree's rows that any figure of the period can count: accepted
    before its end and not closed before its start, and open at its start or resolved,
    returned or rated since."""
    return _scope(session, unit, start, end)[0]


def _counts(conds: dict) -> list:
    return [func.count().filter(conds[k]).label(k) for k in BASE]


def summary(session: Session, unit: OrgUnit | None, date_from: date, date_to: date, *,
            now: datetime | None = None) -> dict:
    """The report of domain.md for `unit`'s subtree over [date_from, date_to]."""
    start, end = period_bounds(date_from, date_to)
    stmt = select(*_counts(conditions(start, end, now=now))).where(
        *scope(session, unit, start, end))
    return figures_from_counts(session.execute(stmt).one()._asdict())


def figures_from_counts(row: dict) -> dict:
    """The report's totals, rates and satisfaction from the counts of BASE."""
    c = {k: int(row.get(k) or 0) for k in BASE}
    c["received"] = c["received_counter"] + c["received_home_pickup"] + c["received_online"]
    c["handled"] = c["carried_over"] + c["received"]
    c["in_process"] = c["in_process_on_time"] + c["in_process_overdue"] + c["in_process_waiting"]
    c["returned"] = c["returned_home"] + c["returned_counter"]
    report = {k: c[k] for k in COUNTS}
    for key, (num, den) in RATES.items():
        report[key] = c[num] / c[den] if c[den] else None
    levels = {str(n): c[f"rating_{n}"] for n in LEVELS}
    count = sum(levels.values())
    report["satisfaction"] = {
        "levels": levels, "count": count,
        "satisfied_share": (levels["4"] + levels["5"]) / count if count else None,
    }
    return report


BREAKDOWNS = ("field", "agency", "commune", "channel")
CHANNEL_NAMES = {Channel.COUNTER: "Trực tiếp tại quầy", Channel.HOME_PICKUP: "Bưu chính thu gom",
                 Channel.ONLINE: "Trực tuyến"}


def _group_key(by: str):
    if by == "field":
        return Procedure.field
    if by == "agency":
        return D.agency_id
    if by == "commune":
        return D.unit_id
    if by == "channel":
        return D.channel
    raise ValidationFailed(f"by: one of {', '.join(BREAKDOWNS)}", field="by")


def breakdown(session: Session, unit: OrgUnit | None, date_from: date, date_to: date,
              by: str = "field") -> list[dict]:
    """The report per field, agency, commune (of the receiving unit) or channel:
    [{key, label, figures}], largest `handled` first."""
    return breakdowns(session, unit, date_from, date_to, (by,))[by]


def breakdowns(session: Session, unit: OrgUnit | None, date_from: date, date_to: date,
               bys=BREAKDOWNS) -> dict[str, list[dict]]:
    """Several breakdowns from one pass: counted per combination of their keys, then added up
    per key (the combinations are few: procedures × units × channels)."""
    for by in bys:
        _group_key(by)
    start, end = period_bounds(date_from, date_to)
    terms, col = _scope(session, unit, start, end)
    keys = [(Procedure.field if by == "field" else col(_group_key(by))).label(by) for by in bys]
    stmt = select(*keys, *_counts(conditions(start, end))).where(*terms).group_by(*keys)
    if "field" in bys:
        stmt = stmt.join(Procedure, Procedure.id == col(D.procedure_id))
    rows = [r._asdict() for r in session.execute(stmt)]
    out = {}
    for by in bys:
        labels = _labels(session, by, list({r[by] for r in rows}), unit)
        merged: dict = {}
        for row in rows:
            k, label = labels.get(row[by], (row[by], row[by]))
            into = merged.setdefault(k, {"key": k, "label": label, **{b: 0 for b in BASE}})
            for b in BASE:
                into[b] += row[b] or 0
        groups = [{"key": g["key"], "label": g["label"], "figures": figures_from_counts(g)}
                  for g in merged.values()]
        out[by] = sorted(groups, key=lambda g: (-g["figures"]["handled"], str(g["label"])))
    return out


def _labels(session: Session, by: str, keys: list, unit: OrgUnit) -> dict:
    """Group key -> (link key, label); receiving units roll up to their commune."""
    if by == "channel":
        return {k: (Channel(k).value, CHANNEL_NAMES[Channel(k)]) for k in keys}
    if by == "field":
        return {k: (k or "", k or "—") for k in keys}
    ids = [k for k in keys if k is not None]
    units = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    if by == "agency":
        return {k: (units[k].code, units[k].name) if k in units else ("", "—") for k in keys}
    codes = {c for u in units.values() for c in u.path.strip("/").split("/")}
    communes = {u.code: u for u in session.scalars(select(OrgUnit).where(
        OrgUnit.code.in_(codes), OrgUnit.kind == UnitKind.COMMUNE))}
    out = {}
    for k, u in units.items():
        found = [communes[c] for c in u.path.strip("/").split("/") if c in communes]
        top = found[-1] if found else u
        out[k] = (top.code, top.name)
    return out


def trend(session: Session, unit: OrgUnit | None, date_from: date, date_to: date,
          by: str = "week") -> list[dict]:
    """Home-delivery rate per week (Monday first) or month of the return date:
    [{start, end, returned, returned_home, home_delivery_rate}]."""
    date_from, date_to = parse_period(date_from, date_to)
    buckets = _buckets(date_from, date_to, by)
    start = datetime.combine(buckets[0][0], time(0), tzinfo=TZ)
    end = datetime.combine(buckets[-1][1] + timedelta(days=1), time(0), tzinfo=TZ)
    edges = [datetime.combine(b[1] + timedelta(days=1), time(0), tzinfo=TZ) for b in buckets]
    bucket = case(*((D.returned_at < edge, i) for i, edge in enumerate(edges)), else_=None)
    ids = subtree_ids(session, unit)
    col = _planner(session, in_units(ids), D.returned_at >= start, D.returned_at < end)
    stmt = select(bucket.label("bucket"), func.count().label("returned"),
                  func.count().filter(D.returned_via == ReturnMethod.HOME).label("home")).where(
        in_units(ids, col), col(D.returned_at) >= start, col(D.returned_at) < end,
        D.received_at.is_not(None)).group_by(bucket)
    counts = {r.bucket: (r.returned, r.home) for r in session.execute(stmt)}
    out = []
    for i, (first, last) in enumerate(buckets):
        returned, home = counts.get(i, (0, 0))
        out.append({"start": first, "end": last, "returned": returned, "returned_home": home,
                    "home_delivery_rate": home / returned if returned else None})
    return out


def _buckets(date_from: date, date_to: date, by: str) -> list[tuple[date, date]]:
    if by not in ("week", "month"):
        raise ValidationFailed("by: week or month", field="by")
    out, day = [], date_from
    if by == "week":
        day -= timedelta(days=day.weekday())
    else:
        day = day.replace(day=1)
    while day <= date_to:
        if by == "week":
            nxt = day + timedelta(days=7)
        else:
            nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        # the first and last buckets are cut to the period
        out.append((max(day, date_from), min(nxt - timedelta(days=1), date_to)))
        day = nxt
    return out


def overdue_query(session: Session, unit: OrgUnit | None, now: datetime) -> Select:
    """Dossiers overdue now (`overdue_at`), most overdue first."""
    return select(D).where(in_units(subtree_ids(session, unit)), overdue_at(now)).order_by(
        D.due_at, D.id)


def overdue_now(session: Session, unit: OrgUnit | None, now: datetime, *,
                limit: int = 200) -> dict:
    """{total, rows}: the overdue dossiers with the unit and person holding their papers."""
    stmt = overdue_query(session, unit, now)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    dossiers = session.scalars(stmt.limit(limit)).all()
    holders = {}
    if dossiers:
        items = session.scalars(select(Item).where(Item.dossier_id.in_([d.id for d in dossiers]))
                                .order_by(Item.id)).all()
        for item in items:  # the folder first, then the result when there is one
            holders[item.dossier_id] = item
    rows = [{"dossier": d, "due_at": d.due_at, "overdue": now - d.due_at,
             "holder_unit": getattr(holders.get(d.id), "holder_unit", None),
             "holder_user": getattr(holders.get(d.id), "holder_user", None)} for d in dossiers]
    return {"total": total, "rows": rows}


def dossiers_behind(session: Session, unit: OrgUnit | None, date_from: date, date_to: date,
                    figure: str, *, by: str | None = None, key: str | None = None,
                    now: datetime | None = None) -> Select:
    """SELECT of the dossiers counted by one figure (optionally of one breakdown group)."""
    start, end = period_bounds(date_from, date_to)
    conds = conditions(start, end, now=now)
    if figure not in conds:
        raise ValidationFailed(f"unknown figure {figure!r}", field="figure")
    stmt = select(D).where(in_units(subtree_ids(session, unit)), D.received_at < end,
                           conds[figure])
    if by:
        stmt = _in_group(session, stmt, by, key)
    return stmt.order_by(D.received_at.desc(), D.id.desc())


def _in_group(session: Session, stmt: Select, by: str, key: str | None) -> Select:
    _group_key(by)
    if by == "field":
        return stmt.join(Procedure, Procedure.id == D.procedure_id).where(
            Procedure.field == (key or ""))
    if by == "channel":
        return stmt.where(D.channel == key)
    if by == "agency":
        if not key:
            return stmt.where(D.agency_id.is_(None))
        return stmt.where(D.agency_id.in_(select(OrgUnit.id).where(OrgUnit.code == key)))
    group = session.scalar(select(OrgUnit).where(OrgUnit.code == (key or "")))
    if group is None:
        raise ValidationFailed(f"unknown unit {key!r}", field="key")
    return stmt.where(D.unit_id.in_(subtree_ids(session, group)))
