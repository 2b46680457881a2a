"""How scans move a dossier along its lifecycle: the folder reaches the agency, the result
comes back and goes to the citizen.

Order rule (shared/domain.md asks that any order of the same scans end the same): the folder's
arrival at the agency only ever moves ACCEPTED to PROCESSING; on the way back the dossier is
where its latest return-side scan *by scan time* says. A return scan older than one already
applied is kept as history and leaves the state alone; a newer one walks the state machine
there, through the steps whose scans have not synced yet (a delivery scanned before its
out-for-delivery). Scans later than the return to the citizen are refused.
"""

from __future__ import annotations

from collections import deque

from postal.dossiers.lifecycle import TRANSITIONS, Action, State
from postal.models import Dossier, ItemKind, OrgUnit, ReturnMethod

RETURN_EVENTS = {
    "out_for_delivery": Action.OUT_FOR_DELIVERY,
    "delivery_failed": Action.DELIVERY_FAILED,
    "delivered": Action.DELIVERED,
    "collected": Action.COLLECTED,
}
RETURN_ACTIONS = frozenset({Action.RESULT_AT_CENTRE, *RETURN_EVENTS.values()})
TERMINAL_EVENTS = ("delivered", "collected")


def within(unit: OrgUnit | None, outer: OrgUnit | None) -> bool:
    return unit is not None and outer is not None and unit.path.startswith(outer.path)


def scan_action(kind: str, item_kind: ItemKind, dossier: Dossier, dest: OrgUnit | None
                ) -> Action | None:
    """The lifecycle action a scan stands for, if any."""
    if item_kind == ItemKind.FOLDER:
        if kind == "handover" and within(dest, dossier.agency):
            return Action.RECEIVE_AT_AGENCY
        return None
    if kind == "handover":
        return Action.RESULT_AT_CENTRE if within(dest, dossier.unit) else None
    return RETURN_EVENTS.get(kind)


def path_to(state: State, action: Action) -> list[Action] | None:
    """Return-side actions taking `state` to where `action` leads, ending with `action`.

    [] when the dossier is already there; None when no such path exists (not ready yet,
    withdrawn, ...).
    """
    targets = {s1 for (_, a), s1 in TRANSITIONS.items() if a == action}
    if state in targets and (state, action) not in TRANSITIONS:
        return []
    queue, seen = deque([(state, [])]), {state}
    while queue:
        current, path = queue.popleft()
        if (current, action) in TRANSITIONS:
            return [*path, action]
        for (s0, a), s1 in TRANSITIONS.items():
            if s0 == current and a in RETURN_ACTIONS and s1 not in seen:
                seen.add(s1)
                queue.append((s1, [*path, a]))
    return None


def plan(state: State, action: Action | None, *, latest: bool) -> list[Action] | None:
    """The actions a scan applies to a dossier in `state` (see the order rule above)."""
    if action is None:
        return []
    if action == Action.RECEIVE_AT_AGENCY:
        return [action] if state == State.ACCEPTED else []
    if not latest:
        return []
    return path_to(state, action)


def return_values(dossier: Dossier, kind: str, at, recipient: str | None) -> dict:
    """The dossier's return figures after a delivery-side scan (attempts add up in any order;
    only the delivery or collection itself, the last scan of all, says when and how)."""
    values = {}
    if kind in ("delivery_failed", "delivered"):
        values["delivery_attempts"] = (dossier.delivery_attempts or 0) + 1
    if kind in TERMINAL_EVENTS:
        values["returned_at"] = at
        values["returned_via"] = ReturnMethod.HOME if kind == "delivered" else ReturnMethod.COUNTER
        values["collected_by"] = recipient or dossier.collected_by
    return values
