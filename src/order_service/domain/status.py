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

# Broker reports that may arrive once an order may exist at the broker.
_FINAL_REPORTS = {
    T.REPORT_COMPLETE: S.COMPLETE,
    T.REPORT_CANCELLED: S.CANCELLED,
    T.REPORT_REJECTED: S.REJECTED,
}
_LIVE_REPORTS = {
    T.REPORT_OPEN: S.OPEN,
    T.REPORT_TRIGGER_PENDING: S.TRIGGER_PENDING,
    **_FINAL_REPORTS,
}
_FIRST_REPORTS = {T.REPORT_PENDING: S.PENDING, **_LIVE_REPORTS}
_LIVE_REQUESTS = {T.REQUEST_MODIFY: S.MODIFY_PENDING, T.REQUEST_CANCEL: S.CANCEL_PENDING}
_BROKER_PENDING = {
    T.REPORT_MODIFY_PENDING: S.MODIFY_PENDING,
    T.REPORT_CANCEL_PENDING: S.CANCEL_PENDING,
}


# The trigger that returns a refused amendment's order to the state it was requested from.
WITHDRAWALS: dict[OrderStatus, OrderTrigger] = {
    S.PENDING: T.WITHDRAW_TO_PENDING,
    S.OPEN: T.WITHDRAW_TO_OPEN,
    S.TRIGGER_PENDING: T.WITHDRAW_TO_TRIGGER_PENDING,
    S.MODIFY_PENDING: T.WITHDRAW_TO_MODIFY_PENDING,
}
_WITHDRAWN_MODIFY = {
    T.WITHDRAW_TO_PENDING: S.PENDING,
    T.WITHDRAW_TO_OPEN: S.OPEN,
    T.WITHDRAW_TO_TRIGGER_PENDING: S.TRIGGER_PENDING,
}
# A cancel may have been requested during a modify: its withdrawal goes back to that modify.
_WITHDRAWN_CANCEL = {**_WITHDRAWN_MODIFY, T.WITHDRAW_TO_MODIFY_PENDING: S.MODIFY_PENDING}


def _rows(
    state: OrderStatus, moves: dict[OrderTrigger, OrderStatus]
) -> dict[tuple[OrderStatus, OrderTrigger], OrderStatus]:
    return {(state, trigger): target for trigger, target in moves.items()}


TRANSITIONS: dict[tuple[OrderStatus, OrderTrigger], OrderStatus] = {
    (S.NEW, T.SUBMIT): S.SUBMITTING,
    (S.NEW, T.DENY): S.DENIED,
    # A NEW order whose process died before sending is known never to have been sent.
    (S.NEW, T.FAIL): S.FAILED,
    (S.SUBMITTING, T.ACCEPT): S.PENDING,
    (S.SUBMITTING, T.FAIL): S.FAILED,
    (S.SUBMITTING, T.LOSE_TRACK): S.UNKNOWN,
    # The resolver may find a SUBMITTING order (left by a crash) at the broker, or not.
    **_rows(S.SUBMITTING, _FIRST_REPORTS),
    (S.SUBMITTING, T.NOT_FOUND): S.FAILED,
    **_rows(S.UNKNOWN, _FIRST_REPORTS),
    (S.UNKNOWN, T.ACCEPT): S.PENDING,
    (S.UNKNOWN, T.NOT_FOUND): S.FAILED,
    **_rows(S.PENDING, {**_LIVE_REPORTS, **_LIVE_REQUESTS, **_BROKER_PENDING}),
    **_rows(S.OPEN, {**_FINAL_REPORTS, **_LIVE_REQUESTS, **_BROKER_PENDING}),
    # A partial fill keeps an order OPEN: an OPEN report on OPEN updates the fill, not the state.
    (S.OPEN, T.REPORT_OPEN): S.OPEN,
    **_rows(S.TRIGGER_PENDING, {**_LIVE_REPORTS, **_LIVE_REQUESTS, **_BROKER_PENDING}),
    # In-flight modifies and cancels settle into whatever the broker reports next.
    **_rows(S.MODIFY_PENDING, {**_LIVE_REPORTS, T.REQUEST_CANCEL: S.CANCEL_PENDING}),
    (S.MODIFY_PENDING, T.REPORT_CANCEL_PENDING): S.CANCEL_PENDING,
    **_rows(S.CANCEL_PENDING, _LIVE_REPORTS),
    **_rows(S.MODIFY_PENDING, _WITHDRAWN_MODIFY),
    **_rows(S.CANCEL_PENDING, _WITHDRAWN_CANCEL),
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
