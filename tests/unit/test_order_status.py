"""The order state table, Kite's statuses and the invariants of the table."""

from __future__ import annotations

import ast
import inspect
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_service.domain import status as status_module
from order_service.domain.status import (
    KITE_STATUSES,
    REPORT_TRIGGERS,
    TERMINAL,
    TRANSITIONS,
    OrderStatus,
    OrderTrigger,
    can_move,
    map_kite_status,
    next_status,
)
from order_service.errors import InvalidTransition

S, T = OrderStatus, OrderTrigger

ALL_PAIRS = list(itertools.product(OrderStatus, OrderTrigger))
FORBIDDEN = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]
BROKER_REPORTED = frozenset(REPORT_TRIGGERS)
BEFORE_BROKER = frozenset({S.NEW, S.SUBMITTING})


def test_the_table_is_written_out_literally_in_the_domain() -> None:
    # The table is the specification: one literal dict, a row per pair, nothing computed.
    tree = ast.parse(inspect.getsource(status_module))
    (table,) = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "TRANSITIONS"
    ]
    assert isinstance(table, ast.Dict)
    assert all(isinstance(key, ast.Tuple) for key in table.keys)  # no ** unpacking
    assert len(table.keys) == len(TRANSITIONS)  # no row written twice


@pytest.mark.parametrize(("state", "trigger"), list(TRANSITIONS), ids=str)
def test_an_allowed_pair_gives_the_tables_next_state(
    state: OrderStatus, trigger: OrderTrigger
) -> None:
    assert can_move(state, trigger)
    assert next_status(state, trigger) is TRANSITIONS[(state, trigger)]


@pytest.mark.parametrize(("state", "trigger"), FORBIDDEN, ids=str)
def test_any_other_pair_raises_invalid_transition(
    state: OrderStatus, trigger: OrderTrigger
) -> None:
    assert not can_move(state, trigger)
    with pytest.raises(InvalidTransition) as caught:
        next_status(state, trigger)
    assert caught.value.error_code == "INVALID_TRANSITION"
    assert caught.value.details == {"state": state.value, "trigger": trigger.value}


@pytest.mark.parametrize("state", sorted(TERMINAL), ids=str)
def test_a_terminal_state_has_no_outgoing_move(state: OrderStatus) -> None:
    assert state.is_terminal
    assert not state.is_working
    assert [trigger for trigger in OrderTrigger if can_move(state, trigger)] == []


def test_terminal_and_working_states_are_the_documented_ones() -> None:
    assert {s for s in OrderStatus if s.is_terminal} == {
        S.DENIED,
        S.FAILED,
        S.COMPLETE,
        S.CANCELLED,
        S.REJECTED,
    }
    assert {s for s in OrderStatus if s.is_working} == {
        S.PENDING,
        S.OPEN,
        S.TRIGGER_PENDING,
        S.MODIFY_PENDING,
        S.CANCEL_PENDING,
    }


def test_every_broker_state_has_a_report_trigger_leading_to_it() -> None:
    for status, trigger in REPORT_TRIGGERS.items():
        targets = {target for (_, t), target in TRANSITIONS.items() if t is trigger}
        assert targets == {status}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("PUT ORDER REQ RECEIVED", S.PENDING),
        ("PUT ORDER REQUEST RECEIVED", S.PENDING),
        ("VALIDATION PENDING", S.PENDING),
        ("OPEN PENDING", S.PENDING),
        ("AMO REQ RECEIVED", S.PENDING),
        ("OPEN", S.OPEN),
        ("TRIGGER PENDING", S.TRIGGER_PENDING),
        ("MODIFY VALIDATION PENDING", S.MODIFY_PENDING),
        ("MODIFY PENDING", S.MODIFY_PENDING),
        ("MODIFIED", S.OPEN),
        ("CANCEL PENDING", S.CANCEL_PENDING),
        ("COMPLETE", S.COMPLETE),
        ("CANCELLED", S.CANCELLED),
        ("CANCELLED AMO", S.CANCELLED),
        ("REJECTED", S.REJECTED),
    ],
)
def test_every_kite_status_maps(raw: str, status: OrderStatus) -> None:
    assert map_kite_status(raw) is status


def test_the_kite_table_covers_every_status_of_kite_md() -> None:
    kite_md_statuses = {
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "OPEN PENDING",
        "MODIFY VALIDATION PENDING",
        "MODIFY PENDING",
        "TRIGGER PENDING",
        "CANCEL PENDING",
        "AMO REQ RECEIVED",
        "MODIFIED",
        "OPEN",
        "COMPLETE",
        "CANCELLED",
        "REJECTED",
    }
    assert kite_md_statuses <= set(KITE_STATUSES)


@pytest.mark.parametrize("raw", [" open ", "Complete", "cancelled amo\n"])
def test_kite_statuses_are_matched_ignoring_case_and_padding(raw: str) -> None:
    assert map_kite_status(raw) is not None


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("REJECTED BY RMS", S.REJECTED),
        ("Rejected by exchange", S.REJECTED),
        ("CANCELLED BY EXCHANGE", S.CANCELLED),
        ("AMO CANCELLED", S.CANCELLED),
        ("COMPLETE (AUCTION)", S.COMPLETE),
    ],
)
def test_unlisted_terminal_spellings_are_classified_by_substring(
    raw: str, status: OrderStatus
) -> None:
    assert map_kite_status(raw) is status


@pytest.mark.parametrize(
    "raw", ["", "SOMETHING NEW", "LAPSED", "CANCEL REQUEST PENDING", "REJECT PENDING"]
)
def test_an_unknown_status_maps_to_none(raw: str) -> None:
    assert map_kite_status(raw) is None


@given(
    start=st.sampled_from(list(OrderStatus)),
    triggers=st.lists(st.sampled_from(list(OrderTrigger)), max_size=40),
)
def test_guarded_random_walks_stay_forward(
    start: OrderStatus, triggers: list[OrderTrigger]
) -> None:
    state = start
    for trigger in triggers:
        if not can_move(state, trigger):
            continue
        after = next_status(state, trigger)
        assert not state.is_terminal, f"left terminal {state} on {trigger}"
        if state in BROKER_REPORTED:
            assert after not in BEFORE_BROKER | {S.UNKNOWN}, f"{state} -> {after} on {trigger}"
        state = after
