"""Resumable books: going on from the last answer gives exactly what computing afresh gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from order_service.adapters.charges_file import load_charge_schedules
from order_service.domain.fill import Fill
from order_service.domain.ids import OrderId
from order_service.domain.pnl import PnlMethod, average_pnl, pnl
from order_service.domain.position import TallyRun, tally_fills
from order_service.services.book_charges import ChargeRun, charges_by_group
from order_service.services.book_runs import BookRuns
from tests.factories import by_strategy, ist_at, make_fill

SCHEDULES = load_charge_schedules()
DAY = date(2026, 11, 30)
START = DAY - timedelta(days=2)


def no_quote(exchange: str, tradingsymbol: str) -> None:
    return None


def strategy_of(fill: Fill) -> object:
    return fill.strategy_id


def ledger(specs: list[tuple[int, str, int, int, int, str]]) -> list[Fill]:
    """Fills by sequence from (day offset, side, quantity, price, minute, strategy) specs:
    each a fill of its own order, traded in the order of the specs' instants."""
    fills = []
    for sequence, (offset, side, quantity, price, minute, strategy) in enumerate(specs, 1):
        when = ist_at(DAY - timedelta(days=offset), 9, 15) + timedelta(minutes=minute)
        fill = make_fill(side, quantity, Decimal(price), when, product="NRML", strategy=strategy)
        fills.append(replace(fill, sequence=sequence, order_id=OrderId(f"O{sequence % 7}")))
    return fills


fill_specs = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(1, 50),
        st.integers(90, 110),
        st.integers(0, 360),
        st.sampled_from(["alpha", "beta"]),
    ),
    max_size=30,
)


def in_time_order(fills: list[Fill]) -> list[Fill]:
    return sorted(fills, key=lambda f: f.report.exchange_timestamp or f.recorded_at)


@settings(max_examples=60, deadline=None)
@given(fill_specs, st.data())
def test_a_run_fed_in_parts_tallies_what_one_pass_tallies(specs: list, data: st.DataObject) -> None:
    fills = in_time_order(ledger(specs))
    cut = data.draw(st.integers(0, len(fills)))
    run = TallyRun(DAY, by_strategy, carries_cnc=True, bank_from=START)

    assert run.extend(fills[:cut])
    run.rolled()  # asking in between leaves the run as it was
    assert run.extend(fills[cut:])

    whole = tally_fills(fills, DAY, by_strategy, carries_cnc=True, bank_from=START)
    assert run.rolled() == whole
    assert average_pnl(run.rolled(), START, no_quote) == pnl(
        fills, PnlMethod.AVERAGE, START, DAY, by_strategy, no_quote
    )


def test_a_run_refuses_a_fill_that_traded_before_one_it_was_fed() -> None:
    early, late = ledger([(0, "BUY", 5, 100, 10, "alpha"), (0, "SELL", 5, 101, 20, "alpha")])
    run = TallyRun(DAY, by_strategy, carries_cnc=True, bank_from=START)
    assert run.extend([late])
    before = run.rolled()

    assert not run.extend([early])
    assert run.rolled() == before  # nothing of the refused part was fed


@settings(max_examples=60, deadline=None)
@given(fill_specs, st.data())
def test_charges_fed_in_parts_are_the_charges_of_one_pass(specs: list, data: st.DataObject) -> None:
    fills = ledger(specs)
    cut = data.draw(st.integers(0, len(fills)))
    run = ChargeRun(SCHEDULES, START, DAY, strategy_of)

    run.extend(fills[:cut])
    run.charges()
    run.extend(fills[cut:])

    assert run.charges() == charges_by_group(SCHEDULES, fills, START, DAY, strategy_of)


def answer(runs: BookRuns, fills: list[Fill]) -> tuple[object, object]:
    figures = runs.figures("q", fills, START, DAY, by_strategy, strategy_of)
    return average_pnl(figures.tallies, START, no_quote), figures.charges


def afresh(fills: list[Fill]) -> tuple[object, object]:
    return answer(BookRuns(SCHEDULES, size=4), fills)


def test_a_question_asked_again_after_new_fills_answers_as_if_asked_afresh() -> None:
    fills = ledger([(1, "BUY", 10, 100, 0, "alpha"), (0, "SELL", 4, 104, 5, "alpha")])
    runs = BookRuns(SCHEDULES, size=4)
    answer(runs, fills)
    more = [*fills, *ledger([(0, "SELL", 6, 99, 30, "beta")])]
    more[-1] = replace(more[-1], sequence=3)

    assert answer(runs, more) == afresh(more)


def test_a_fill_committed_late_with_a_lower_sequence_is_not_missed() -> None:
    first, second, late = ledger(
        [
            (0, "BUY", 10, 100, 0, "alpha"),
            (0, "SELL", 10, 103, 9, "alpha"),
            (0, "BUY", 3, 98, 20, "alpha"),
        ]
    )
    runs = BookRuns(SCHEDULES, size=4)
    late = replace(late, sequence=2)  # took its sequence before `second`, committed after it
    second = replace(second, sequence=3)
    answer(runs, [first, second])

    history = [first, late, second]  # the ledger by sequence, the late one in its place
    assert answer(runs, history) == afresh(history)


def test_a_new_fill_that_traded_before_the_last_one_fed_is_counted_in_its_place() -> None:
    first, second, earlier = ledger(
        [
            (0, "BUY", 10, 100, 30, "alpha"),
            (0, "SELL", 10, 103, 40, "alpha"),
            (1, "BUY", 5, 97, 0, "alpha"),
        ]
    )
    runs = BookRuns(SCHEDULES, size=4)
    answer(runs, [first, second])

    history = [first, second, earlier]  # recorded now, executed the day before
    assert answer(runs, history) == afresh(history)


def test_only_the_most_recent_questions_are_kept() -> None:
    fills = ledger([(0, "BUY", 10, 100, 0, "alpha")])
    runs = BookRuns(SCHEDULES, size=2)
    for question in ("a", "b", "c"):
        runs.figures(question, fills, START, DAY, by_strategy, strategy_of)

    assert list(runs._runs) == ["b", "c"]
