"""The dossier lifecycle as one explicit state machine (domain.md, "The life of a dossier").

Every allowed move is a row of TRANSITIONS; anything else raises InvalidTransition naming the
state and the attempted action.
"""

from __future__ import annotations

import enum

from postal.core.errors import InvalidTransition
from postal.models.state import State

__all__ = ["TRANSITIONS", "Action", "State", "next_state"]


class Action(enum.StrEnum):
    ACCEPT = "accept"
    ASK_SUPPLEMENT_AT_INTAKE = "ask_supplement_at_intake"
    REFUSE_AT_INTAKE = "refuse_at_intake"
    RECEIVE_AT_AGENCY = "receive_at_agency"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT_RECEIVED = "supplement_received"
    EXTEND = "extend"
    RESULT_READY = "result_ready"
    RESULT_AT_CENTRE = "result_at_centre"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERED = "delivered"
    COLLECTED = "collected"
    WITHDRAW = "withdraw"
    STOP = "stop"


S, A = State, Action
_OPEN = (S.ACCEPTED, S.PROCESSING, S.WAITING_SUPPLEMENT)

TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.NEW, A.ACCEPT): S.ACCEPTED,
    (S.NEW, A.ASK_SUPPLEMENT_AT_INTAKE): S.INCOMPLETE,
    (S.NEW, A.REFUSE_AT_INTAKE): S.REJECTED,
    (S.ACCEPTED, A.RECEIVE_AT_AGENCY): S.PROCESSING,
    (S.ACCEPTED, A.REQUEST_SUPPLEMENT): S.WAITING_SUPPLEMENT,
    (S.PROCESSING, A.REQUEST_SUPPLEMENT): S.WAITING_SUPPLEMENT,
    (S.WAITING_SUPPLEMENT, A.SUPPLEMENT_RECEIVED): S.PROCESSING,
    (S.ACCEPTED, A.EXTEND): S.ACCEPTED,
    (S.PROCESSING, A.EXTEND): S.PROCESSING,
    # a result decided at the centre itself, or by an agency that never scanned the folder in
    (S.ACCEPTED, A.RESULT_READY): S.RESULT_READY,
    (S.PROCESSING, A.RESULT_READY): S.RESULT_READY,
    (S.RESULT_READY, A.RESULT_AT_CENTRE): S.AWAITING_RETURN,
    # a result handed straight from the agency to a delivery run
    (S.RESULT_READY, A.OUT_FOR_DELIVERY): S.OUT_FOR_DELIVERY,
    (S.AWAITING_RETURN, A.OUT_FOR_DELIVERY): S.OUT_FOR_DELIVERY,
    (S.OUT_FOR_DELIVERY, A.DELIVERY_FAILED): S.AWAITING_RETURN,
    (S.OUT_FOR_DELIVERY, A.DELIVERED): S.RETURNED,
    (S.AWAITING_RETURN, A.COLLECTED): S.RETURNED,
    (S.RESULT_READY, A.COLLECTED): S.RETURNED,
    **{(s, A.WITHDRAW): S.WITHDRAWN for s in _OPEN},
    **{(s, A.STOP): S.REFUSED for s in _OPEN},
}

ACCEPTED_STATES = frozenset(State) - {S.NEW, S.INCOMPLETE, S.REJECTED}
FINAL_STATES = frozenset({S.INCOMPLETE, S.REJECTED, S.RETURNED, S.WITHDRAWN, S.REFUSED})
RESOLVED_STATES = frozenset({S.RESULT_READY, S.AWAITING_RETURN, S.OUT_FOR_DELIVERY, S.RETURNED})


def next_state(state: State | str, action: Action | str) -> State:
    """The state after `action`, or InvalidTransition if the table has no such row."""
    try:
        key = (State(state), Action(action))
    except ValueError:
        raise InvalidTransition(state, action) from None
    try:
        return TRANSITIONS[key]
    except KeyError:
        raise InvalidTransition(state, action) from None


def allowed_actions(state: State | str) -> list[Action]:
    """Actions the table allows from `state`, in declaration order."""
    state = State(state)
    return [a for (s, a) in TRANSITIONS if s == state]
