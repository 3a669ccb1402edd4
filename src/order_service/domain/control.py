"""Control modes: who may trade a scope (an account, or one strategy of it) right now.

A scope is MANUAL (people trade it), SCRIPT (its algorithm trades it) or TRANSITIONING (a
handoff is cancelling its working orders at the broker: nobody trades it). DESIGN.md section 7
is the specification; the table below is that specification written out.

Where a scope's mode comes from (no read of its own: the placement already reads the account
row and, for a named strategy, the strategy row):

- an account scope starts MANUAL (its people's default strategy inherits it);
- a strategy that was never handed off has no mode of its own: the default strategy follows its
  account, any other strategy is SCRIPT, because a strategy other than the default exists to
  be traded by its algorithm (a key bound to it trades it at once; a person needs ``force``);
- while the account scope is TRANSITIONING every strategy of it is too: an account's handoff
  covers the whole account.
"""

from __future__ import annotations

from enum import StrEnum

from order_service.domain import fsm
from order_service.domain.order import OrderOrigin
from order_service.errors import OwnershipConflict


class ControlMode(StrEnum):
    MANUAL = "manual"
    TRANSITIONING = "transitioning"
    SCRIPT = "script"


class ControlTrigger(StrEnum):
    TO_SCRIPT = "to_script"
    TO_MANUAL = "to_manual"
    EMERGENCY_STOP = "emergency_stop"
    # Internal: a handoff settles its scope, into its target or back to the mode it left.
    SETTLE_MANUAL = "settle_manual"
    SETTLE_SCRIPT = "settle_script"


# Triggers a caller may ask for (the rest are the handoff's own).
REQUESTED_TRIGGERS = frozenset(
    {ControlTrigger.TO_SCRIPT, ControlTrigger.TO_MANUAL, ControlTrigger.EMERGENCY_STOP}
)

M, T = ControlMode, ControlTrigger

# Any pair not listed raises InvalidTransition. A TRANSITIONING scope refuses a new handoff
# (its stale transition is first settled back when forced, then the trigger applies).
CONTROL_TRANSITIONS: dict[tuple[ControlMode, ControlTrigger], ControlMode] = {
    (M.MANUAL, T.TO_SCRIPT): M.TRANSITIONING,
    (M.SCRIPT, T.TO_MANUAL): M.TRANSITIONING,
    (M.MANUAL, T.EMERGENCY_STOP): M.TRANSITIONING,
    (M.SCRIPT, T.EMERGENCY_STOP): M.TRANSITIONING,
    # An emergency stop overrides a handoff in progress: stopping must never wait its turn.
    (M.TRANSITIONING, T.EMERGENCY_STOP): M.TRANSITIONING,
    (M.TRANSITIONING, T.SETTLE_MANUAL): M.MANUAL,
    (M.TRANSITIONING, T.SETTLE_SCRIPT): M.SCRIPT,
}

# The mode each requested trigger hands the scope to once its orders are settled.
TARGETS: dict[ControlTrigger, ControlMode] = {
    T.TO_SCRIPT: M.SCRIPT,
    T.TO_MANUAL: M.MANUAL,
    T.EMERGENCY_STOP: M.MANUAL,
}


def move(mode: ControlMode, trigger: ControlTrigger) -> ControlMode:
    """Return the mode the table allows from ``mode`` on ``trigger``, or raise."""
    return fsm.transition(CONTROL_TRANSITIONS, mode, trigger)


def settle_trigger(mode: ControlMode) -> ControlTrigger:
    """Return the trigger that settles a TRANSITIONING scope into ``mode``."""
    return T.SETTLE_SCRIPT if mode is M.SCRIPT else T.SETTLE_MANUAL


def strategy_mode(own: ControlMode | None, is_default: bool) -> ControlMode | None:
    """Return a strategy's own mode, or None where it follows its account (the default one)."""
    if own is not None or is_default:
        return own
    return M.SCRIPT


def scope_mode(account_mode: ControlMode, strategy: ControlMode | None) -> ControlMode:
    """Return the mode an order of a strategy is under (``strategy`` from ``strategy_mode``)."""
    if account_mode is M.TRANSITIONING or strategy is None:
        return account_mode
    return strategy


def check_origin(mode: ControlMode, origin: OrderOrigin, force: bool) -> None:
    """Refuse an order whose origin may not trade a scope in ``mode`` (``OwnershipConflict``).

    ``force`` lets a person trade a SCRIPT scope (a human may always step in); it never lets a
    script trade a MANUAL scope, and nobody trades a scope whose orders are being cancelled.
    """
    if mode is M.TRANSITIONING:
        _refuse(mode, origin, "a handoff is cancelling this scope's orders; retry once it is done")
    if mode is M.MANUAL and origin is OrderOrigin.SCRIPT:
        _refuse(mode, origin, "a strategy's key cannot trade a scope under manual control")
    if mode is M.SCRIPT and origin is OrderOrigin.MANUAL and not force:
        _refuse(mode, origin, 'this scope is under script control; send "force": true to step in')


def _refuse(mode: ControlMode, origin: OrderOrigin, why: str) -> None:
    raise OwnershipConflict(why, details={"control_mode": mode.value, "origin": origin.value})
