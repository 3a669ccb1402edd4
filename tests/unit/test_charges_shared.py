"""An executed order held by several strategies (an attributed exit's parts) shares its
charges by quantity, to the paisa, adding up to the order's charges exactly."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from decimal import Decimal, localcontext

from hypothesis import example, given
from hypothesis import strategies as st

from order_service.adapters.charges_file import load_charge_schedules
from order_service.domain.charges import Charges
from order_service.domain.fill import Fill
from order_service.domain.ids import OrderId
from order_service.services.book_charges import charges_by_group
from tests.factories import ist_at, make_fill

SCHEDULES = load_charge_schedules()
DAY = date(2026, 11, 30)
PARTS = [part.name for part in fields(Charges)]


def strategy_of(fill: Fill) -> object:
    return fill.strategy_id


def everyone(fill: Fill) -> object:
    return "account"


def exit_parts(*shares: tuple[str, int]) -> list[Fill]:
    """One SELL order of INFY, its fill split among strategies as attribution parts are."""
    when = ist_at(DAY, 10, 0)
    return [
        replace(
            make_fill("SELL", quantity, "1530.00", when, strategy=strategy), order_id=OrderId("X")
        )
        for strategy, quantity in shares
    ]


def test_a_charge_shared_three_ways_rounds_to_the_paisa_and_adds_up() -> None:
    charges = Charges(brokerage=Decimal("9.97"), stt=Decimal("4"), gst=Decimal("1.80"))

    shared = charges.shared([1, 1, 1])

    assert [s.brokerage for s in shared] == [Decimal("3.32"), Decimal("3.32"), Decimal("3.33")]
    assert [s.stt for s in shared] == [Decimal("1.33"), Decimal("1.33"), Decimal("1.34")]
    assert [s.gst for s in shared] == [Decimal("0.60")] * 3
    assert Charges.sum(shared) == charges


@given(
    st.lists(st.integers(1, 10_000), min_size=1, max_size=6),
    st.lists(st.decimals("0", "100000", places=2), min_size=len(PARTS), max_size=len(PARTS)),
)
# Four parts of 15.76 shared 225:225:8721: each small share floors to 0.38 of each of them.
@example([225, 225, 8721], [Decimal(v) for v in ("0", "0.08", "0.27", *["15.76"] * 4)])
def test_shares_always_add_up_to_the_whole_and_follow_the_quantities(
    weights: list[int], values: list[Decimal]
) -> None:
    charges = Charges(*values)

    shared = charges.shared(weights)

    assert Charges.sum(shared) == charges
    # Largest remainder, part by part: each share of a part is within a paisa of its exact
    # portion (not half a paisa: a share whose remainder takes no paisa is up to one below).
    for share, weight in zip(shared, weights, strict=True):
        for part in PARTS:
            exact = getattr(charges, part) * weight / sum(weights)
            assert abs(getattr(share, part) - exact) < Decimal("0.01"), part


def test_an_exit_split_between_two_strategies_charges_each_its_half() -> None:
    fills = exit_parts(("alpha", 5), ("beta", 5))

    by_strategy = charges_by_group(SCHEDULES, fills, DAY, DAY, strategy_of).totals
    whole = charges_by_group(SCHEDULES, fills, DAY, DAY, everyone).totals["account"]

    alpha, beta = by_strategy["alpha"], by_strategy["beta"]
    assert alpha + beta == whole
    assert whole.brokerage > 0
    for part in PARTS:
        assert abs(getattr(alpha, part) - getattr(beta, part)) <= Decimal("0.01")


def test_an_order_one_strategy_holds_keeps_all_its_charges() -> None:
    fills = exit_parts(("alpha", 4), ("alpha", 6))

    by_strategy = charges_by_group(SCHEDULES, fills, DAY, DAY, strategy_of).totals
    whole = charges_by_group(SCHEDULES, fills, DAY, DAY, everyone).totals["account"]

    assert by_strategy == {"alpha": whole}


def test_a_few_paise_shared_many_ways_leave_no_share_below_zero() -> None:
    shared = Charges(brokerage=Decimal("0.02")).shared([1, 1, 1, 1])

    # Each portion is half a paisa: the last two take the two paise (not 0.01 three times and
    # -0.01 for the last, as rounding each half up would).
    assert [s.brokerage for s in shared] == [Decimal(n) for n in ("0", "0", "0.01", "0.01")]


@given(
    st.lists(st.integers(1, 1_000_000), min_size=1, max_size=8),
    st.one_of(st.decimals("0", "100", places=2), st.decimals("0", "1000", places=6)),
)
def test_each_share_is_within_a_paisa_of_its_portion_and_never_negative(
    weights: list[int], value: Decimal
) -> None:
    shared = Charges(stt=value).shared(weights)

    for share, weight in zip(shared, weights, strict=True):
        assert share.stt >= 0
        assert abs(share.stt - value * weight / sum(weights)) < Decimal("0.01")
    assert sum(share.stt for share in shared) == value


def test_shares_do_not_depend_on_the_callers_decimal_context() -> None:
    charges = Charges(brokerage=Decimal("123456.78"))
    with localcontext() as context:
        context.prec = 3
        shared = charges.shared([1, 2])
    assert [s.brokerage for s in shared] == [Decimal("41152.26"), Decimal("82304.52")]
