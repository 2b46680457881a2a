"""Reading the audit log: filter by user, action, object, local date range and address; page it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from postal.core.errors import ValidationFailed
from postal.core.text import clean
from postal.core.time import TZ
from postal.models import AuditEntry, User

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PER_PAGE = 50
MAX_PAGE = 10_000
FILTERS = ("user", "action", "object_type", "object_id", "date_from", "date_to", "ip")


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    pages: int
    filters: dict = field(default_factory=dict)


def _date(name: str, raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{raw!r}: expected a date YYYY-MM-DD", field=name) from None


def parse_filters(args) -> dict:
    """Cleaned filters from a query mapping; ValidationFailed names the bad one."""
    for name in FILTERS:
        if _CONTROL.search(args.get(name) or ""):  # PostgreSQL text cannot even hold NUL
            raise ValidationFailed("control characters are not allowed", field=name)
    out = {name: clean(args.get(name))[:100] for name in FILTERS}
    start, end = _date("date_from", out["date_from"]), _date("date_to", out["date_to"])
    if start and end and start > end:
        raise ValidationFailed("the period starts after it ends", field="date_from")
    out["date_from"], out["date_to"] = start, end
    return out


def _page_number(raw) -> int:
    try:
        page = int(raw or 1)
    except (TypeError, ValueError):
        raise ValidationFailed("page must be a whole number", field="page") from None
    if not 1 <= page <= MAX_PAGE:
        raise ValidationFailed(f"page must be between 1 and {MAX_PAGE}", field="page")
    return page


def query(filters: dict) -> Select:
    """Entries matching every given filter, newest first."""
    stmt = select(AuditEntry)
    if filters.get("user"):
        if filters["user"] == "-":  # entries without a user: the command line, the system
            stmt = stmt.where(AuditEntry.user_id.is_(None))
        else:
            stmt = stmt.where(AuditEntry.user_id.in_(
                select(User.id).where(User.username == filters["user"])))
    if filters.get("action"):
        stmt = stmt.where(AuditEntry.action == filters["action"])
    if filters.get("object_type"):
        stmt = stmt.where(AuditEntry.object_type == filters["object_type"])
    if filters.get("object_id"):
        stmt = stmt.where(AuditEntry.object_id == filters["object_id"])
    if filters.get("ip"):
        # a whole address, or a prefix such as "10.0." for a subnet
        stmt = stmt.where(AuditEntry.ip.startswith(filters["ip"], autoescape=True))
    if filters.get("date_from"):
        stmt = stmt.where(AuditEntry.at >= datetime.combine(filters["date_from"], time(0), TZ))
    if filters.get("date_to"):
        end = datetime.combine(filters["date_to"] + timedelta(days=1), time(0), TZ)
        stmt = stmt.where(AuditEntry.at < end)
    return stmt


def search(session: Session, args, *, per_page: int = PER_PAGE) -> AuditPage:
    """One page of the filtered log (args: a query mapping with FILTERS and `page`)."""
    filters = parse_filters(args)
    page = _page_number(args.get("page"))
    stmt = query(filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    entries = list(session.scalars(
        stmt.options(joinedload(AuditEntry.user))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ))
    return AuditPage(entries=entries, total=total, page=page,
                     pages=max(1, -(-total // per_page)), filters=filters)


def choices(session: Session) -> dict[str, list[str]]:
    """The actions and object types present in the log, for the filter form."""
    return {
        "actions": list(session.scalars(select(AuditEntry.action).distinct()
                                        .order_by(AuditEntry.action))),
        "object_types": [t for t in session.scalars(
            select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)) if t],
    }
