"""Citizen satisfaction on the five-level scale of the provincial surveys (domain.md): one
rating per dossier, given once the result is in the citizen's hands."""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from postal.core import audit
from postal.core.errors import Conflict, NotFound, ValidationFailed
from postal.core.text import clean
from postal.dossiers.lifecycle import State
from postal.models import Dossier, Event, User
from postal.outbox.events import announce

LEVELS = {1: "Rất kém", 2: "Kém", 3: "Trung bình", 4: "Tốt", 5: "Rất tốt"}
MAX_COMMENT = 1000
CHANNELS = ("counter", "link", "api")
_SALT = "postal.rating"


def level_of(value) -> int:
    """The level as an int 1–5, or ValidationFailed (booleans and 4.5 are not levels)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value not in LEVELS:
        raise ValidationFailed("mức đánh giá từ 1 (Rất kém) đến 5 (Rất tốt)", field="level")
    return value


def rate(session: Session, dossier: Dossier, level, *, now: datetime, comment: str | None = None,
         user: User | None = None, channel: str = "counter") -> Dossier:
    """Record the citizen's rating: only after the return, only once (Conflict otherwise)."""
    level = level_of(level)
    comment = clean(comment)
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"nhận xét tối đa {MAX_COMMENT} ký tự", field="comment")
    if channel not in CHANNELS:
        raise ValidationFailed(f"kênh đánh giá không hợp lệ: {channel!r}", field="channel")
    if dossier.rating is not None:
        raise Conflict(f"hồ sơ {dossier.code} đã được đánh giá", code="already_rated")
    if dossier.state != State.RETURNED:
        raise Conflict(f"hồ sơ {dossier.code} chưa trả kết quả: chỉ đánh giá sau khi nhận",
                       code="not_returned")
    # one UPDATE guarded by "not rated yet": of two ratings sent at once, one wins
    done = session.execute(
        update(Dossier).where(Dossier.id == dossier.id, Dossier.rating.is_(None))
        .values(rating=level, rated_at=now, rating_comment=comment or None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(f"hồ sơ {dossier.code} đã được đánh giá", code="already_rated")
    session.expire(dossier, ["rating", "rated_at", "rating_comment"])
    session.add(Event(kind="rated", dossier_id=dossier.id, at=now, recorded_at=now,
                      user_id=user.id if user is not None else None,
                      unit_id=user.unit_id if user is not None else None,
                      data={"level": level, "channel": channel}))
    if user is not None:
        audit.record(session, user, "dossier_rated", "dossier", dossier.code, level=level,
                     channel=channel)
    session.flush()
    announce(session, dossier, "rated", level=level)
    return dossier


def rating_token(secret: str, dossier: Dossier) -> str:
    """The no-login link's token for a dossier: signed, so it cannot be guessed or altered."""
    return URLSafeSerializer(secret, salt=_SALT).dumps([dossier.id, dossier.token[:8]])


def dossier_for_token(session: Session, secret: str, token: str) -> Dossier:
    """The dossier a rating token stands for, or NotFound."""
    try:
        dossier_id, check = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound("liên kết đánh giá không hợp lệ") from None
    dossier = session.get(Dossier, dossier_id) if isinstance(dossier_id, int) else None
    if dossier is None or dossier.token[:8] != check:
        raise NotFound("liên kết đánh giá không hợp lệ")
    return dossier
