"""The control-mode table, and who may trade a scope in each mode."""

from __future__ import annotations

import itertools

import pytest

from order_service.domain.control import (
    CONTROL_TRANSITIONS,
    TARGETS,
    ControlMode,
    ControlTrigger,
    check_origin,
    move,
    scope_mode,
    settle_trigger,
    strategy_mode,
)
from order_service.domain.order import OrderOrigin
from order_service.errors import InvalidTransition, OwnershipConflict

M, T = ControlMode, ControlTrigger
ALL_PAIRS = list(itertools.product(ControlMode, ControlTrigger))


@pytest.mark.parametrize(("mode", "trigger"), sorted(CONTROL_TRANSITIONS))
def test_every_listed_pair_moves_to_its_row(mode: ControlMode, trigger: ControlTrigger) -> None:
    assert move(mode, trigger) is CONTROL_TRANSITIONS[(mode, trigger)]


@pytest.mark.parametrize(
    ("mode", "trigger"), [pair for pair in ALL_PAIRS if pair not in CONTROL_TRANSITIONS]
)
def test_every_other_pair_is_refused(mode: ControlMode, trigger: ControlTrigger) -> None:
    with pytest.raises(InvalidTransition) as caught:
        move(mode, trigger)

    assert caught.value.details == {"state": mode.value, "trigger": trigger.value}


def test_a_transitioning_scope_takes_no_new_handoff_but_an_emergency_stop() -> None:
    assert [t for t in ControlTrigger if (M.TRANSITIONING, t) in CONTROL_TRANSITIONS] == [
        T.EMERGENCY_STOP,
        T.SETTLE_MANUAL,
        T.SETTLE_SCRIPT,
    ]


@pytest.mark.parametrize("start", [M.MANUAL, M.SCRIPT, M.TRANSITIONING])
def test_an_emergency_stop_from_any_mode_settles_manual(start: ControlMode) -> None:
    target = TARGETS[T.EMERGENCY_STOP]

    assert move(move(start, T.EMERGENCY_STOP), settle_trigger(target)) is M.MANUAL


@pytest.mark.parametrize(("trigger", "start"), [(T.TO_SCRIPT, M.MANUAL), (T.TO_MANUAL, M.SCRIPT)])
def test_a_handoff_reaches_its_target_or_returns_to_where_it_started(
    trigger: ControlTrigger, start: ControlMode
) -> None:
    transitioning = move(start, trigger)

    assert move(transitioning, settle_trigger(TARGETS[trigger])) is TARGETS[trigger]
    assert move(transitioning, settle_trigger(start)) is start


def test_a_strategy_never_handed_off_is_its_algorithms_and_the_default_follows_its_account() -> (
    None
):
    assert strategy_mode(None, is_default=False) is M.SCRIPT
    assert strategy_mode(None, is_default=True) is None
    assert strategy_mode(M.MANUAL, is_default=False) is M.MANUAL
    assert scope_mode(M.SCRIPT, None) is M.SCRIPT
    assert scope_mode(M.MANUAL, M.SCRIPT) is M.SCRIPT


@pytest.mark.parametrize("strategy", [None, M.MANUAL, M.SCRIPT])
def test_an_accounts_transition_covers_every_strategy_of_it(strategy: ControlMode | None) -> None:
    assert scope_mode(M.TRANSITIONING, strategy) is M.TRANSITIONING


ALLOWED = {
    (M.MANUAL, OrderOrigin.MANUAL, False),
    (M.MANUAL, OrderOrigin.MANUAL, True),
    (M.SCRIPT, OrderOrigin.SCRIPT, False),
    (M.SCRIPT, OrderOrigin.SCRIPT, True),
    (M.SCRIPT, OrderOrigin.MANUAL, True),  # a person steps in
}


@pytest.mark.parametrize(
    ("mode", "origin", "force"), list(itertools.product(ControlMode, OrderOrigin, (False, True)))
)
def test_who_may_trade_each_mode(mode: ControlMode, origin: OrderOrigin, force: bool) -> None:
    if (mode, origin, force) in ALLOWED:
        check_origin(mode, origin, force)
        return
    with pytest.raises(OwnershipConflict) as caught:
        check_origin(mode, origin, force)

    assert caught.value.details == {"control_mode": mode.value, "origin": origin.value}
