"""Writing the audit log: who did what, to which object, from where."""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy.orm import Session

from postal.models import AuditEntry, User

# the caller's address, set by the web layer for each request (None from the command line)
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def record(
    session: Session, user: User | None, action: str, object_type: str | None = None,
    object_id: str | None = None, **details,
) -> AuditEntry:
    entry = AuditEntry(
        user=user, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id), ip=client_ip.get(),
        details=details,
    )
    session.add(entry)
    return entry
