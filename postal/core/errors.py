"""Domain errors: raised by the domain, turned into HTTP answers by one handler in the web layer."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses; `code` is stable for API clients."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationFailed(DomainError):
    """Input that breaks a rule of the domain (bad ID number, unknown ward, ...)."""

    code = "validation_failed"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class Conflict(DomainError):
    """The request clashes with the current state (a second rating, a duplicate username)."""

    code = "conflict"
    status = 409


class InvalidTransition(Conflict):
    """The dossier's state does not allow the attempted action."""

    code = "invalid_transition"

    def __init__(self, state, action):
        state_name = getattr(state, "value", state)
        action_name = getattr(action, "value", action)
        super().__init__(f"cannot {action_name} a dossier that is {state_name}")
        self.state = state
        self.action = action
