"""The book limits' arithmetic: gross exposure, the day's loss, and which orders only reduce."""

from __future__ import annotations

from decimal import Decimal

import pytest

from order_service.domain.risk import RiskLimits, RiskScope
from order_service.domain.risk_book import (
    EMPTY_BOOK,
    HeldPosition,
    ScopeBook,
    WorkingOrder,
    check_daily_loss,
    check_gross_exposure,
    only_reduces,
    working_value,
)
from order_service.domain.values import Product, TransactionType
from order_service.errors import RiskCheckFailed, ValidationError
from tests.factories import make_limit_request

BUY, SELL = TransactionType.BUY, TransactionType.SELL
INFY_CNC = ("NSE", "INFY", "CNC")
LONG_10 = ScopeBook({INFY_CNC: HeldPosition(10, Decimal("1500"))}, Decimal(0))
SHORT_10 = ScopeBook({INFY_CNC: HeldPosition(-10, Decimal("1500"))}, Decimal(0))


def working(side: TransactionType, quantity: int, price: str | None = "1500") -> WorkingOrder:
    return WorkingOrder("NSE", "INFY", "CNC", side, quantity, Decimal(price) if price else None)


def test_exposure_is_the_absolute_value_of_each_position_at_its_mark() -> None:
    book = ScopeBook(
        {INFY_CNC: HeldPosition(10, Decimal("1500.5")),
         ("NSE", "TCS", "MIS"): HeldPosition(-3, Decimal("4000"))},
        Decimal(0),
    )  # fmt: skip
    # 10 x 1500.5 + 3 x 4000 = 15,005 + 12,000.
    assert book.exposure == Decimal("27005.0")
    assert EMPTY_BOOK.exposure == 0


def test_working_orders_count_their_unfilled_part_whichever_side_they_are_on() -> None:
    assert working_value([working(BUY, 2), working(SELL, 3, "1490.05")]) == Decimal("7470.15")
    assert working_value([working(BUY, 2), working(BUY, 1, None)]) is None  # not to be valued


@pytest.mark.parametrize(
    ("book", "side", "quantity", "product", "reduces"),
    [
        (LONG_10, SELL, 10, Product.CNC, True),
        (LONG_10, SELL, 11, Product.CNC, False),  # turns the position over
        (LONG_10, BUY, 1, Product.CNC, False),  # adds to it
        (LONG_10, SELL, 1, Product.MIS, False),  # another product is another position
        (SHORT_10, BUY, 10, Product.CNC, True),
        (SHORT_10, SELL, 1, Product.CNC, False),
        (EMPTY_BOOK, SELL, 1, Product.CNC, False),
    ],
)  # fmt: skip
def test_an_order_reduces_only_on_the_other_side_and_no_further_than_flat(
    book: ScopeBook, side: TransactionType, quantity: int, product: Product, reduces: bool
) -> None:
    request = make_limit_request(transaction_type=side, quantity=quantity, product=product)
    assert only_reduces(request, book, []) is reduces


def test_working_orders_closing_the_same_position_leave_less_to_reduce() -> None:
    request = make_limit_request(transaction_type=SELL, quantity=4)
    assert only_reduces(request, LONG_10, [working(SELL, 6), working(BUY, 5)])
    assert not only_reduces(request, LONG_10, [working(SELL, 7)])


def test_gross_exposure_refuses_above_the_limit_not_at_it() -> None:
    pending = [working(BUY, 2)]  # 3,000
    limit = Decimal(20000)
    check_gross_exposure(RiskScope.ACCOUNT, limit, LONG_10, pending, Decimal(2000))  # 20,000
    with pytest.raises(RiskCheckFailed) as refused:
        check_gross_exposure(RiskScope.STRATEGY, limit, LONG_10, pending, Decimal("2000.01"))
    assert refused.value.details == {
        "rule": "max_gross_exposure", "limit": "20000", "value": "20000.01", "scope": "strategy"
    }  # fmt: skip
    check_gross_exposure(RiskScope.ACCOUNT, None, LONG_10, pending, None)  # unset: no check


def test_gross_exposure_that_cannot_be_reckoned_is_refused() -> None:
    for pending, value in (([working(BUY, 1, None)], Decimal(1)), ([], None)):
        with pytest.raises(RiskCheckFailed) as refused:
            check_gross_exposure(RiskScope.ACCOUNT, Decimal(10**9), EMPTY_BOOK, pending, value)
        assert refused.value.details["value"] is None


def test_the_day_s_loss_refuses_at_the_limit_and_reports_the_loss() -> None:
    limit = Decimal(5000)
    check_daily_loss(RiskScope.ACCOUNT, limit, ScopeBook({}, Decimal("-4999.99")))
    check_daily_loss(RiskScope.ACCOUNT, limit, ScopeBook({}, Decimal("100000")))
    with pytest.raises(RiskCheckFailed) as refused:
        check_daily_loss(RiskScope.ACCOUNT, limit, ScopeBook({}, Decimal("-5000.00")))
    assert refused.value.details == {
        "rule": "max_daily_loss", "limit": "5000", "value": "5000.00", "scope": "account"
    }  # fmt: skip
    check_daily_loss(RiskScope.ACCOUNT, None, ScopeBook({}, Decimal(-(10**9))))


@pytest.mark.parametrize("value", ["0", "-1", "NaN", "Infinity", "-Infinity", "sNaN"])
@pytest.mark.parametrize("name", ["max_gross_exposure", "max_daily_loss"])
def test_book_limits_are_finite_amounts_above_zero(name: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RiskLimits.create(**{name: Decimal(value)})
    assert refused.value.details["field"] == name


def test_book_limits_survive_storage_and_leave_older_rows_unset() -> None:
    limits = RiskLimits.create(max_gross_exposure=Decimal("1e6"), max_daily_loss=Decimal("2.50"))
    assert RiskLimits.from_stored(limits.as_dict()) == limits
    assert limits.watches_book
    older = RiskLimits.from_stored({"max_quantity": 5})  # stored before these limits existed
    assert (older.max_gross_exposure, older.max_daily_loss, older.watches_book) == (
        None, None, False,
    )  # fmt: skip
