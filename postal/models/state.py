"""The states of a dossier's lifecycle (the moves between them: postal.dossiers.lifecycle)."""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    NEW = "new"  # not yet decided at the counter; never stored
    INCOMPLETE = "incomplete"  # supplement slip handed over at intake; not accepted
    REJECTED = "rejected"  # refused at intake; not accepted
    ACCEPTED = "accepted"  # receipt issued; papers at the centre
    PROCESSING = "processing"  # the agency has the papers
    WAITING_SUPPLEMENT = "waiting_supplement"  # clock paused until documents arrive
    RESULT_READY = "result_ready"  # the agency decided; result not yet at the centre
    AWAITING_RETURN = "awaiting_return"  # result at the centre, waiting for return
    OUT_FOR_DELIVERY = "out_for_delivery"
    RETURNED = "returned"  # handed to the citizen (counter or home)
    WITHDRAWN = "withdrawn"  # the citizen withdrew after acceptance
    REFUSED = "refused"  # processing stopped after acceptance (Thông báo dừng giải quyết)
