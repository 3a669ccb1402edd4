"""Order states, the triggers that move them, the literal transition table and Kite's statuses."""

from __future__ import annotations

from enum import StrEnum

from order_service.domain import fsm


class OrderStatus(StrEnum):
    NEW = "NEW"
    DENIED = "DENIED"
    SUBMITTING = "SUBMITTING"
    UNKNOWN = "UNKNOWN"
    FAILED = "FAILED"
    PENDING = "PENDING"
    OPEN = "OPEN"
    TRIGGER_PENDING = "TRIGGER_PENDING"
    MODIFY_PENDING = "MODIFY_PENDING"
    CANCEL_PENDING = "CANCEL_PENDING"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_working(self) -> bool:
        """Return True while the order lives at the broker and may still change."""
        return self in WORKING


TERMINAL = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.FAILED,
        OrderStatus.COMPLETE,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
    }
)
WORKING = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.OPEN,
        OrderStatus.TRIGGER_PENDING,
        OrderStatus.MODIFY_PENDING,
        OrderStatus.CANCEL_PENDING,
    }
)

# States only a broker report (or an amendment of a working order) can reach.
REPORTED_STATES = WORKING | {OrderStatus.COMPLETE, OrderStatus.CANCELLED, OrderStatus.REJECTED}
# Being placed: the placing request records the outcome (NEW surely not sent yet).
IN_FLIGHT = frozenset({OrderStatus.NEW, OrderStatus.SUBMITTING})
# Sent or maybe sent with no outcome known to us, and no broker id: only the book, searched by
# our tag, can tell what became of them.
OUTCOME_UNKNOWN = IN_FLIGHT | {OrderStatus.UNKNOWN}


class OrderTrigger(StrEnum):
    SUBMIT = "submit"
    DENY = "deny"
    ACCEPT = "accept"
    FAIL = "fail"
    LOSE_TRACK = "lose_track"
    NOT_FOUND = "not_found"
    REQUEST_MODIFY = "request_modify"
    REQUEST_CANCEL = "request_cancel"
    REPORT_PENDING = "report_pending"
    REPORT_OPEN = "report_open"
    REPORT_TRIGGER_PENDING = "report_trigger_pending"
    REPORT_MODIFY_PENDING = "report_modify_pending"
    REPORT_CANCEL_PENDING = "report_cancel_pending"
    REPORT_COMPLETE = "report_complete"
    REPORT_CANCELLED = "report_cancelled"
    REPORT_REJECTED = "report_rejected"
    # A modify or cancel refused before the broker processed it: back to where it was.
    WITHDRAW_TO_PENDING = "withdraw_to_pending"
    WITHDRAW_TO_OPEN = "withdraw_to_open"
    WITHDRAW_TO_TRIGGER_PENDING = "withdraw_to_trigger_pending"
    WITHDRAW_TO_MODIFY_PENDING = "withdraw_to_modify_pending"


S, T = OrderStatus, OrderTrigger

# The state table, written out: it is the specification (DESIGN.md section 4). Forward-only;
# terminal states have no row. Any pair not listed raises InvalidTransition.
TRANSITIONS: dict[tuple[OrderStatus, OrderTrigger], OrderStatus] = {
    # Nothing sent yet; a NEW order left by a process that died was certainly never sent.
    (S.NEW, T.SUBMIT): S.SUBMITTING,
    (S.NEW, T.DENY): S.DENIED,
    (S.NEW, T.FAIL): S.FAILED,
    # Sent, no answer yet. The resolver may find one left by a crash at the broker, or not.
    (S.SUBMITTING, T.ACCEPT): S.PENDING,
    (S.SUBMITTING, T.FAIL): S.FAILED,
    (S.SUBMITTING, T.LOSE_TRACK): S.UNKNOWN,
    (S.SUBMITTING, T.REPORT_PENDING): S.PENDING,
    (S.SUBMITTING, T.REPORT_OPEN): S.OPEN,
    (S.SUBMITTING, T.REPORT_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.SUBMITTING, T.REPORT_COMPLETE): S.COMPLETE,
    (S.SUBMITTING, T.REPORT_CANCELLED): S.CANCELLED,
    (S.SUBMITTING, T.REPORT_REJECTED): S.REJECTED,
    (S.SUBMITTING, T.NOT_FOUND): S.FAILED,
    # The send's outcome was lost: only the broker's book (or a confirmed postback) settles it.
    (S.UNKNOWN, T.REPORT_PENDING): S.PENDING,
    (S.UNKNOWN, T.REPORT_OPEN): S.OPEN,
    (S.UNKNOWN, T.REPORT_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.UNKNOWN, T.REPORT_COMPLETE): S.COMPLETE,
    (S.UNKNOWN, T.REPORT_CANCELLED): S.CANCELLED,
    (S.UNKNOWN, T.REPORT_REJECTED): S.REJECTED,
    (S.UNKNOWN, T.ACCEPT): S.PENDING,
    (S.UNKNOWN, T.NOT_FOUND): S.FAILED,
    # Accepted, in an interim broker status.
    (S.PENDING, T.REPORT_OPEN): S.OPEN,
    (S.PENDING, T.REPORT_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.PENDING, T.REPORT_COMPLETE): S.COMPLETE,
    (S.PENDING, T.REPORT_CANCELLED): S.CANCELLED,
    (S.PENDING, T.REPORT_REJECTED): S.REJECTED,
    (S.PENDING, T.REQUEST_MODIFY): S.MODIFY_PENDING,
    (S.PENDING, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.PENDING, T.REPORT_MODIFY_PENDING): S.MODIFY_PENDING,
    (S.PENDING, T.REPORT_CANCEL_PENDING): S.CANCEL_PENDING,
    # Working at the exchange. A partial fill keeps it OPEN: OPEN on OPEN updates the fill only.
    (S.OPEN, T.REPORT_COMPLETE): S.COMPLETE,
    (S.OPEN, T.REPORT_CANCELLED): S.CANCELLED,
    (S.OPEN, T.REPORT_REJECTED): S.REJECTED,
    (S.OPEN, T.REQUEST_MODIFY): S.MODIFY_PENDING,
    (S.OPEN, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.OPEN, T.REPORT_MODIFY_PENDING): S.MODIFY_PENDING,
    (S.OPEN, T.REPORT_CANCEL_PENDING): S.CANCEL_PENDING,
    (S.OPEN, T.REPORT_OPEN): S.OPEN,
    # A stop order waiting for its trigger.
    (S.TRIGGER_PENDING, T.REPORT_OPEN): S.OPEN,
    (S.TRIGGER_PENDING, T.REPORT_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.TRIGGER_PENDING, T.REPORT_COMPLETE): S.COMPLETE,
    (S.TRIGGER_PENDING, T.REPORT_CANCELLED): S.CANCELLED,
    (S.TRIGGER_PENDING, T.REPORT_REJECTED): S.REJECTED,
    (S.TRIGGER_PENDING, T.REQUEST_MODIFY): S.MODIFY_PENDING,
    (S.TRIGGER_PENDING, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.TRIGGER_PENDING, T.REPORT_MODIFY_PENDING): S.MODIFY_PENDING,
    (S.TRIGGER_PENDING, T.REPORT_CANCEL_PENDING): S.CANCEL_PENDING,
    # A modify in flight settles into whatever the broker reports next; refused unsent, it
    # goes back where it was requested from.
    (S.MODIFY_PENDING, T.REPORT_PENDING): S.PENDING,  # a modified AMO waits for the open
    (S.MODIFY_PENDING, T.REPORT_OPEN): S.OPEN,
    (S.MODIFY_PENDING, T.REPORT_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.MODIFY_PENDING, T.REPORT_COMPLETE): S.COMPLETE,
    (S.MODIFY_PENDING, T.REPORT_CANCELLED): S.CANCELLED,
    (S.MODIFY_PENDING, T.REPORT_REJECTED): S.REJECTED,
    (S.MODIFY_PENDING, T.REQUEST_CANCEL): S.CANCEL_PENDING,
    (S.MODIFY_PENDING, T.REPORT_CANCEL_PENDING): S.CANCEL_PENDING,
    (S.MODIFY_PENDING, T.WITHDRAW_TO_PENDING): S.PENDING,
    (S.MODIFY_PENDING, T.WITHDRAW_TO_OPEN): S.OPEN,
    (S.MODIFY_PENDING, T.WITHDRAW_TO_TRIGGER_PENDING): S.TRIGGER_PENDING,
    # A cancel in flight likewise; a cancel requested during a modify goes back to that modify.
    (S.CANCEL_PENDING, T.REPORT_PENDING): S.PENDING,
    (S.CANCEL_PENDING, T.REPORT_OPEN): S.OPEN,
    (S.CANCEL_PENDING, T.REPORT_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.CANCEL_PENDING, T.REPORT_COMPLETE): S.COMPLETE,
    (S.CANCEL_PENDING, T.REPORT_CANCELLED): S.CANCELLED,
    (S.CANCEL_PENDING, T.REPORT_REJECTED): S.REJECTED,
    (S.CANCEL_PENDING, T.WITHDRAW_TO_PENDING): S.PENDING,
    (S.CANCEL_PENDING, T.WITHDRAW_TO_OPEN): S.OPEN,
    (S.CANCEL_PENDING, T.WITHDRAW_TO_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.CANCEL_PENDING, T.WITHDRAW_TO_MODIFY_PENDING): S.MODIFY_PENDING,
}

# The trigger that returns a refused amendment's order to the state it was requested from.
WITHDRAWALS: dict[OrderStatus, OrderTrigger] = {
    S.PENDING: T.WITHDRAW_TO_PENDING,
    S.OPEN: T.WITHDRAW_TO_OPEN,
    S.TRIGGER_PENDING: T.WITHDRAW_TO_TRIGGER_PENDING,
    S.MODIFY_PENDING: T.WITHDRAW_TO_MODIFY_PENDING,
}

# Kite's order statuses (KITE.md 5.4) and what each means for us.
KITE_STATUSES: dict[str, OrderStatus] = {
    "PUT ORDER REQ RECEIVED": S.PENDING,
    "PUT ORDER REQUEST RECEIVED": S.PENDING,
    "VALIDATION PENDING": S.PENDING,
    "OPEN PENDING": S.PENDING,
    "AMO REQ RECEIVED": S.PENDING,
    "OPEN": S.OPEN,
    "TRIGGER PENDING": S.TRIGGER_PENDING,
    "MODIFY VALIDATION PENDING": S.MODIFY_PENDING,
    "MODIFY PENDING": S.MODIFY_PENDING,
    "MODIFIED": S.OPEN,
    "CANCEL PENDING": S.CANCEL_PENDING,
    "COMPLETE": S.COMPLETE,
    "CANCELLED": S.CANCELLED,
    "CANCELLED AMO": S.CANCELLED,
    "REJECTED": S.REJECTED,
}

REPORT_TRIGGERS: dict[OrderStatus, OrderTrigger] = {
    S.PENDING: T.REPORT_PENDING,
    S.OPEN: T.REPORT_OPEN,
    S.TRIGGER_PENDING: T.REPORT_TRIGGER_PENDING,
    S.MODIFY_PENDING: T.REPORT_MODIFY_PENDING,
    S.CANCEL_PENDING: T.REPORT_CANCEL_PENDING,
    S.COMPLETE: T.REPORT_COMPLETE,
    S.CANCELLED: T.REPORT_CANCELLED,
    S.REJECTED: T.REPORT_REJECTED,
}


def next_status(state: OrderStatus, trigger: OrderTrigger) -> OrderStatus:
    """Return the state after ``trigger``; raise ``InvalidTransition`` if the table forbids it."""
    return fsm.transition(TRANSITIONS, state, trigger)


def can_move(state: OrderStatus, trigger: OrderTrigger) -> bool:
    return (state, trigger) in TRANSITIONS


def map_kite_status(raw: str) -> OrderStatus | None:
    """Map a Kite status to ours; ``None`` for a status we do not know (stored raw, counted)."""
    status = KITE_STATUSES.get(raw.strip().upper())
    if status is not None:
        return status
    # Kite's own tests classify by substring; new terminal spellings still land correctly.
    upper = raw.upper()
    for needle, mapped in (
        ("COMPLETE", S.COMPLETE),
        ("REJECT", S.REJECTED),
        ("CANCEL", S.CANCELLED),
    ):
        if needle in upper and "PENDING" not in upper:
            return mapped
    return None
