"""Exit attribution's rules: who held what an exit closed, the policy, the checks on a
person's allocations, and how the exit's fills are split."""

from __future__ import annotations

from datetime import timedelta

import pytest

from order_service.domain.attribution import (
    Allocation,
    AttributionId,
    AttributionPolicy,
    CaseStatus,
    ExitAttribution,
    Holder,
    Part,
    PositionKey,
    attributed,
    check_allocations,
    decide,
    holders_of,
    split,
)
from order_service.domain.ids import AccountId, OrderId, StrategyId, UserId
from order_service.domain.values import TransactionType
from order_service.errors import Conflict, ValidationError
from tests.factories import NOW, make_fill

INFY = PositionKey("NSE", "INFY", "MIS")
SELL, BUY = TransactionType.SELL, TransactionType.BUY
A, B, C, DEFAULT = (StrategyId(name) for name in ("alpha", "beta", "gamma", "default"))
PERSON = UserId("01JPERSON00000000000000000")


def holder(strategy: StrategyId, quantity: int, minutes: int = 0) -> Holder:
    return Holder(strategy, quantity, NOW + timedelta(minutes=minutes))


def a_case(quantity: int, *holders: Holder) -> ExitAttribution:
    return ExitAttribution(
        attribution_id=AttributionId("01JCASE0000000000000000000"),
        account_id=AccountId("acct"),
        order_id=OrderId("01JEXIT0000000000000000000"),
        position=INFY,
        transaction_type=SELL,
        quantity=quantity,
        default_strategy_id=DEFAULT,
        holders=holders,
        policy=AttributionPolicy.MANUAL,
        status=CaseStatus.OPEN,
        reason=None,
        created_at=NOW,
        updated_at=NOW,
    )


def test_holders_are_the_strategies_long_what_a_sell_reduces_oldest_first() -> None:
    fills = [
        make_fill("BUY", 5, "100", NOW + timedelta(minutes=2), strategy="beta"),
        make_fill("BUY", 7, "100", NOW + timedelta(minutes=1), strategy="alpha"),
        make_fill("SELL", 3, "100", NOW + timedelta(minutes=3), strategy="gamma"),  # short
        make_fill("BUY", 4, "100", NOW, strategy="alpha", symbol="TCS"),  # another scrip
        make_fill("BUY", 4, "100", NOW, strategy="delta", product="CNC"),  # another product
    ]

    assert holders_of(fills, INFY, SELL) == [
        holder(A, 7, minutes=1),
        holder(B, 5, minutes=2),
    ]
    assert holders_of(fills, INFY, BUY) == [holder(C, 3, minutes=3)]


def test_a_position_closed_and_opened_again_is_as_old_as_its_reopening() -> None:
    fills = [
        make_fill("BUY", 5, "100", NOW, strategy="alpha"),
        make_fill("SELL", 5, "101", NOW + timedelta(minutes=1), strategy="alpha"),
        make_fill("BUY", 2, "102", NOW + timedelta(minutes=5), strategy="alpha"),
        make_fill("BUY", 2, "102", NOW + timedelta(minutes=3), strategy="beta"),
    ]

    assert holders_of(fills, INFY, SELL) == [holder(B, 2, 3), holder(A, 2, 5)]


def test_nobody_but_the_default_holding_leaves_the_exit_as_it_is() -> None:
    assert decide(5, [], DEFAULT) == (AttributionPolicy.NONE, ())
    assert decide(5, [holder(DEFAULT, 9)], DEFAULT) == (AttributionPolicy.NONE, ())


def test_one_holder_takes_the_exit_and_any_excess_stays_with_the_default() -> None:
    assert decide(4, [holder(A, 10)], DEFAULT) == (
        AttributionPolicy.SINGLE,
        (Allocation(A, 4),),
    )
    assert decide(12, [holder(A, 10)], DEFAULT) == (
        AttributionPolicy.SINGLE,
        (Allocation(A, 10), Allocation(DEFAULT, 2)),
    )


def test_a_full_exit_closes_every_holder_oldest_first() -> None:
    holders = [holder(B, 3, 1), holder(A, 5, 2), holder(DEFAULT, 2, 3)]

    assert decide(10, holders, DEFAULT) == (
        AttributionPolicy.FULL,
        (Allocation(B, 3), Allocation(A, 5), Allocation(DEFAULT, 2)),
    )
    policy, allocations = decide(12, holders, DEFAULT)  # beyond: a new short of the person
    assert policy is AttributionPolicy.FULL
    assert allocations[-1] == Allocation(DEFAULT, 4)


def test_a_partial_exit_across_several_holders_is_a_case() -> None:
    assert decide(7, [holder(A, 5), holder(B, 3)], DEFAULT) == (AttributionPolicy.MANUAL, ())
    assert decide(1, [holder(A, 5), holder(DEFAULT, 3)], DEFAULT) == (
        AttributionPolicy.MANUAL,
        (),
    )


def test_allocations_must_sum_to_the_exit() -> None:
    case = a_case(8, holder(A, 5), holder(B, 5))

    with pytest.raises(ValidationError) as refused:
        check_allocations(case, [Allocation(A, 5), Allocation(B, 2)])

    assert refused.value.error_code == "INVALID_INPUT"
    assert refused.value.details == {"sum": 7, "quantity": 8, "field": "allocations"}
    check_allocations(case, [Allocation(A, 5), Allocation(B, 3)])


@pytest.mark.parametrize(
    ("allocations", "words"),
    [
        ([], "must not be empty"),
        ([Allocation(A, 4), Allocation(A, 4)], "named twice"),
        ([Allocation(A, 8), Allocation(B, 0)], "must be positive"),
        ([Allocation(A, 6), Allocation(B, 2)], "held 5"),
        ([Allocation(C, 1), Allocation(A, 5), Allocation(B, 2)], "held 0"),
    ],
)
def test_allocations_that_no_exit_could_have_are_refused(
    allocations: list[Allocation], words: str
) -> None:
    case = a_case(8, holder(A, 5), holder(B, 5))

    with pytest.raises(ValidationError, match=words):
        check_allocations(case, allocations)


def test_the_default_strategy_may_take_more_than_it_held() -> None:
    case = a_case(8, holder(A, 5), holder(B, 5))

    check_allocations(case, [Allocation(A, 5), Allocation(DEFAULT, 3)])


def test_a_case_is_resolved_then_applied_and_then_final() -> None:
    case = a_case(6, holder(A, 5), holder(B, 5))
    fills = [make_fill("SELL", 4, "110", NOW), make_fill("SELL", 2, "111", NOW)]

    with pytest.raises(Conflict, match="resolve it first"):
        case.apply(fills, PERSON, NOW)
    case.resolve([Allocation(B, 5), Allocation(A, 1)], PERSON, NOW)
    case.resolve([Allocation(A, 3), Allocation(B, 3)], PERSON, NOW)  # again, before applying
    parts = case.apply(fills, PERSON, NOW)

    first, second = (fill.trade_id for fill in fills)
    assert parts == [Part(first, A, 3), Part(first, B, 1), Part(second, B, 2)]
    assert case.status is CaseStatus.APPLIED
    assert [name for name, _ in case.events] == [
        "AttributionCaseResolved",
        "AttributionCaseResolved",
        "AttributionCaseApplied",
    ]
    for again in (
        lambda: case.apply(fills, PERSON, NOW),
        lambda: case.resolve([Allocation(A, 6)], PERSON, NOW),
        lambda: case.assign(PERSON, PERSON, NOW),
    ):
        with pytest.raises(Conflict):
            again()


def test_a_split_needs_the_fills_to_add_up_to_the_allocations() -> None:
    with pytest.raises(Conflict, match="add up to 4"):
        split([make_fill("SELL", 4, "110", NOW)], [Allocation(A, 5)])


def test_the_books_read_an_allocated_fill_as_its_parts() -> None:
    kept = make_fill("BUY", 9, "100", NOW, strategy="alpha")
    exit_ = make_fill("SELL", 6, "110", NOW, strategy="default")
    parts = {
        (exit_.account_id, exit_.trade_id): split([exit_], [Allocation(A, 4), Allocation(B, 2)])
    }

    read = attributed([kept, exit_], parts)

    assert read[0] is kept
    assert [(f.strategy_id, f.report.quantity, f.report.price) for f in read[1:]] == [
        (A, 4, exit_.report.price),
        (B, 2, exit_.report.price),
    ]
    assert {f.trade_id for f in read[1:]} == {exit_.trade_id}
