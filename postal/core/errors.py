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
    """Input that breaks a rule of the domain (bad ID number, unknown ward, ...). `errors`
    holds every field's problem when several were checked at once (the first is the message
    and field of the error itself)."""

    code = "validation_failed"
    status = 422

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 errors: dict[str, str] | None = None):
        super().__init__(message, field=field, code=code)
        self.errors = errors or ({field: message} if field else {})


class Problems:
    """Check several fields and report every problem at once: `with problems.check(): ...`
    around each field's check, then `problems.raise_any()`."""

    def __init__(self):
        self.errors: dict[str, str] = {}

    def check(self):
        return _Catch(self)

    def raise_any(self) -> None:
        if self.errors:
            field, message = next(iter(self.errors.items()))
            raise ValidationFailed(message, field=field, errors=dict(self.errors))


class _Catch:
    def __init__(self, problems: Problems):
        self.problems = problems

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb) -> bool:
        if isinstance(error, ValidationFailed):
            for field, message in (error.errors or {error.field or "form": error.message}).items():
                self.problems.errors.setdefault(field, message)
            return True
        return False


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
