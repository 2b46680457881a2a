"""Proofs from a phone's queue: what the courier recorded at the door, offline or not, sent
when the network is there. Each proof is judged by the door's own rules (proof.py: the same
as the door page and the API), stored once under the phone's id (a second send answers
"duplicate" with what was stored), and refused on its own, with the rule it broke, without
touching the others of its batch. Its photo comes from a finished upload (uploads.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from postal.core.access import dossier_for
from postal.core.errors import DomainError, ValidationFailed
from postal.core.time import parse_moment
from postal.custody.judging import CLIENT_ID
from postal.delivery import uploads
from postal.delivery.proof import Proof, record_delivery, record_failed_attempt, record_once
from postal.models import DeliveryAttempt, User

MAX_PROOFS = 100
OUTCOMES = ("delivered", "failed")
# refusals the phone settles by itself: send the photo (again), then the proof again
RETRY = ("upload_incomplete", "photo_corrupt")


@dataclass
class Limits:
    max_photo_bytes: int
    max_attempts: int


@dataclass
class Answer:
    id: str
    status: str  # accepted | duplicate | rejected | retry
    attempt: DeliveryAttempt | None = None
    error: DomainError | None = None


def _text(value, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} phải là chuỗi", field=field)
    return value


def _moment(value) -> datetime | None:
    """The phone's clock at the door, ISO 8601 with its offset; None: the server's."""
    try:
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError(value)
        return parse_moment(value, naive="refuse")
    except ValueError:
        raise ValidationFailed("thời điểm không hợp lệ (ISO 8601, có múi giờ)",
                               field="at") from None


def _record(session: Session, user: User, entry: Mapping, now: datetime, limits: Limits,
            client_id: str, skew: int | None) -> DeliveryAttempt:
    dossier = dossier_for(session, user, _text(entry.get("code"), "code") or "")
    outcome = entry.get("outcome")
    at = _moment(entry.get("at"))
    common = {"lat": entry.get("lat"), "lon": entry.get("lon"),
              "accuracy_m": entry.get("accuracy_m")}
    if outcome == "failed":
        return record_failed_attempt(
            session, user, dossier, _text(entry.get("reason"), "reason") or "", now,
            limits.max_attempts, note=_text(entry.get("note"), "note"), at=at,
            client_id=client_id, clock_skew_s=skew, **common)
    upload_id = _text(entry.get("photo_upload"), "photo_upload")
    photo = uploads.take(session, user, upload_id) if upload_id else None
    proof = Proof(recipient_name=_text(entry.get("recipient_name"), "recipient_name") or "",
                  relation=_text(entry.get("relation"), "relation") or "", photo=photo,
                  signature=_text(entry.get("signature"), "signature"), at=at,
                  cod_collected=entry.get("cod_collected"), note=_text(entry.get("note"), "note"),
                  id_number=_text(entry.get("id_number"), "id_number"), **common)
    return record_delivery(session, user, dossier, proof, now,
                           max_photo_bytes=limits.max_photo_bytes, client_id=client_id,
                           clock_skew_s=skew)


def apply_proof(session: Session, user: User, entry, now: datetime, limits: Limits, *,
                skew: int | None = None) -> Answer:
    """One proof of the queue: stored, a duplicate of one stored, or refused with why."""
    client_id = entry.get("id") if isinstance(entry, Mapping) else None
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        error = ValidationFailed("mã bằng chứng (id) phải là 8–50 chữ, số, - hoặc _",
                                 field="id", code="bad_id")
        return Answer(str(client_id)[:50], "rejected", error=error)
    if entry.get("outcome") not in OUTCOMES:
        return Answer(client_id, "rejected", error=ValidationFailed(
            "outcome phải là delivered hoặc failed", field="outcome"))
    try:
        status, attempt = record_once(
            session, user, client_id,
            lambda: _record(session, user, entry, now, limits, client_id, skew))
    except DomainError as exc:
        return Answer(client_id, "retry" if exc.code in RETRY else "rejected", error=exc)
    return Answer(client_id, status, attempt=attempt)


def apply_batch(session: Session, user: User, entries: list, now: datetime, limits: Limits, *,
                skew: int | None = None) -> list[Answer]:
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_PROOFS:
        raise ValidationFailed(f"gửi từ 1 đến {MAX_PROOFS} bằng chứng một lần", field="proofs")
    return [apply_proof(session, user, entry, now, limits, skew=skew) for entry in entries]
