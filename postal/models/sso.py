"""Single sign-on: the administrators' rules from a provider's claims to a role and unit, and
the provider identities (issuer and subject) linked to staff accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postal.models.base import Base, UTCDateTime, utcnow
from postal.models.unit import OrgUnit
from postal.models.user import Role, User


class SsoRule(Base):
    """If the claim `claim` holds `value` (a shell pattern, `*` and `?`; any element of a list
    claim), the person signs in as `role` at `unit`. Rules are tried by `position`, then id:
    the first that matches decides."""

    __tablename__ = "sso_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e])
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[OrgUnit] = relationship()

    def __repr__(self) -> str:
        return f"<SsoRule #{self.position} {self.claim}={self.value} -> {self.role.value}>"


class SsoIdentity(Base):
    """A person at the provider (issuer + subject, never a name) and the account they open.
    `provisioned`: the account was made by their first login, so the rules keep its role and
    unit; an account an administrator linked keeps what the administrator gave it."""

    __tablename__ = "sso_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    provisioned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<SsoIdentity {self.subject} -> user {self.user_id}>"
