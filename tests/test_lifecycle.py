"""The dossier state machine: every row of the table works, everything else is refused."""

import itertools

import pytest

from postal.core.errors import InvalidTransition
from postal.dossiers.lifecycle import (
    ACCEPTED_STATES,
    TRANSITIONS,
    Action,
    State,
    allowed_actions,
    next_state,
)

ALL_PAIRS = list(itertools.product(State, Action))


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS, key=str))
def test_every_allowed_transition_reaches_its_state(state, action):
    assert next_state(state, action) == TRANSITIONS[(state, action)]


@pytest.mark.parametrize(
    ("state", "action"), [p for p in ALL_PAIRS if p not in TRANSITIONS], ids=str
)
def test_every_other_transition_is_refused_naming_state_and_action(state, action):
    with pytest.raises(InvalidTransition) as excinfo:
        next_state(state, action)
    assert state.value in str(excinfo.value)
    assert action.value in str(excinfo.value)
    assert excinfo.value.status == 409


def test_the_table_covers_the_whole_life_of_a_home_delivery():
    state = State.NEW
    for action in (Action.ACCEPT, Action.RECEIVE_AT_AGENCY, Action.REQUEST_SUPPLEMENT,
                   Action.SUPPLEMENT_RECEIVED, Action.EXTEND, Action.RESULT_READY,
                   Action.RESULT_AT_CENTRE, Action.OUT_FOR_DELIVERY, Action.DELIVERY_FAILED,
                   Action.OUT_FOR_DELIVERY, Action.DELIVERED):
        state = next_state(state, action)
    assert state == State.RETURNED


def test_returned_dossier_cannot_be_delivered_again():
    with pytest.raises(InvalidTransition, match="cannot delivered a dossier that is returned"):
        next_state(State.RETURNED, Action.DELIVERED)


def test_final_states_allow_nothing():
    for state in (State.RETURNED, State.WITHDRAWN, State.REFUSED, State.INCOMPLETE,
                  State.REJECTED):
        assert allowed_actions(state) == []


def test_unknown_action_or_state_is_refused_not_crashing():
    with pytest.raises(InvalidTransition):
        next_state("accepted", "teleport")
    with pytest.raises(InvalidTransition):
        next_state("lost", "accept")


def test_intake_outcomes_other_than_accept_are_not_accepted_states():
    assert State.INCOMPLETE not in ACCEPTED_STATES
    assert State.REJECTED not in ACCEPTED_STATES
    assert State.ACCEPTED in ACCEPTED_STATES
