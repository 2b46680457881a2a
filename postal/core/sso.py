"""Single sign-on in the domain: which rule a provider's claims match, and which account a
verified identity opens (made on the first login, never found by a name that happens to match).

The ID token has been verified before anything here runs (signature, issuer, audience, expiry,
nonce: `web/sso.py`); these functions only decide who the person is here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from fnmatch import fnmatchcase

from sqlalchemy import select
from sqlalchemy.orm import Session

from postal.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from postal.core.text import clean
from postal.models import OrgUnit, Role, SsoIdentity, SsoRule, User, utcnow

# an account made by single sign-on has no password: werkzeug refuses a hash without "$"
NO_PASSWORD = "!sso"
CLAIM = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")


class SsoRefused(DomainError):
    """The provider vouched for the person, but this office lets them in no further."""

    code = "sso_refused"
    status = 403


# ---- rules ----------------------------------------------------------------------------------


def rules(session: Session) -> list[SsoRule]:
    """Every rule, in the order they are tried."""
    return list(session.scalars(select(SsoRule).order_by(SsoRule.position, SsoRule.id)))


def _claim_values(claims: Mapping, name: str) -> list[str]:
    """The claim's values as text: a list claim (`groups`, `roles`) gives each element; a
    dotted name reaches into an object claim (`realm_access.roles`)."""
    value: object = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    items = value if isinstance(value, list | tuple) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v)
            for v in items if v is not None and not isinstance(v, Mapping | list)]


def matches(rule: SsoRule, claims: Mapping) -> bool:
    return any(fnmatchcase(v, rule.value) for v in _claim_values(claims, rule.claim))


def first_match(ordered: Iterable[SsoRule], claims: Mapping) -> SsoRule | None:
    """The first rule (in their order) that the claims match; None when none does."""
    return next((rule for rule in ordered if matches(rule, claims)), None)


def add_rule(session: Session, *, claim: str, value: str, role: Role | str, unit: OrgUnit,
             position: int | None = None) -> SsoRule:
    claim, value = clean(claim or ""), clean(value or "")
    if not CLAIM.match(claim):
        raise ValidationFailed("claim: a claim name such as groups or realm_access.roles",
                               field="claim")
    if not value or len(value) > 200:
        raise ValidationFailed("value: 1–200 characters (* and ? match anything)",
                               field="value")
    try:
        role = Role(role)
    except ValueError:
        raise ValidationFailed(
            f"role must be one of {', '.join(r.value for r in Role)}", field="role") from None
    if position is None:
        last = max((r.position for r in rules(session)), default=0)
        position = last + 10
    rule = SsoRule(claim=claim, value=value, role=role, unit=unit, position=position)
    session.add(rule)
    session.flush()
    return rule


def remove_rule(session: Session, rule_id: int) -> SsoRule:
    rule = session.get(SsoRule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}")
    session.delete(rule)
    session.flush()
    return rule


# ---- identities -----------------------------------------------------------------------------


def link(session: Session, user: User, *, issuer: str, subject: str) -> SsoIdentity:
    """An administrator's link: the provider's person `subject` opens the existing `user`,
    who keeps the role and unit the administrator gave them."""
    subject = (subject or "").strip()
    if not subject or len(subject) > 255:
        raise ValidationFailed("subject: the provider's id of the person (sub)", field="subject")
    found = session.scalar(select(SsoIdentity).where(SsoIdentity.issuer == issuer,
                                                     SsoIdentity.subject == subject))
    if found is not None:
        raise Conflict(f"that identity already opens {found.user.username}", field="subject")
    identity = SsoIdentity(issuer=issuer, subject=subject, user=user, provisioned=False)
    session.add(identity)
    session.flush()
    return identity


def unlink(session: Session, identity_id: int) -> SsoIdentity:
    identity = session.get(SsoIdentity, identity_id)
    if identity is None:
        raise NotFound(f"no identity {identity_id}")
    session.delete(identity)
    session.flush()
    return identity


def _free_username(session: Session, claims: Mapping, subject: str) -> str:
    """A username for a new account from the provider's preferred name or e-mail; a name
    already taken gets a suffix (the new account is never the one that had the name)."""
    raw = str(claims.get("preferred_username") or claims.get("email") or "").split("@")[0]
    base = re.sub(r"[^a-z0-9_.-]+", "-", clean(raw).lower()).strip("-.")[:70]
    if len(base) < 3:
        base = "sso-" + hashlib.sha256(subject.encode()).hexdigest()[:10]
    name, n = base, 1
    while session.scalar(select(User.id).where(User.username == name)):
        n += 1
        name = f"{base}-{n}"
    return name


def sign_in(session: Session, *, issuer: str, claims: Mapping,
            now: datetime | None = None) -> User:
    """The account this verified identity opens. The rules must let the person in (no rule
    matching: refused, and no account made); an account made by an earlier login follows the
    rule's role and unit; a deactivated account stays shut."""
    now = now or utcnow()
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SsoRefused("the provider named no subject")
    rule = first_match(rules(session), claims)
    if rule is None:
        raise SsoRefused("no rule lets this person in", code="sso_unmapped")
    identity = session.scalar(select(SsoIdentity).where(SsoIdentity.issuer == issuer,
                                                        SsoIdentity.subject == subject))
    if identity is None:
        name = clean(str(claims.get("name") or ""))[:200]
        user = User(username=_free_username(session, claims, subject), full_name=name,
                    password_hash=NO_PASSWORD, role=rule.role, unit=rule.unit, active=True,
                    failed_logins=0)
        user.full_name = name or user.username
        identity = SsoIdentity(issuer=issuer, subject=subject, user=user, provisioned=True)
        session.add_all([user, identity])
    user = identity.user
    if not user.active:
        raise SsoRefused("the account is deactivated", code="sso_inactive")
    if identity.provisioned:
        user.role, user.unit = rule.role, rule.unit
    identity.last_login_at = now
    session.flush()
    return user
