"""Reading alerts: numbers are finite and exact, and an alert's identity is stable."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_service.domain.alert import CHARTINK, MAX_QUANTITY, PLAIN, read_alerts
from order_service.domain.values import TransactionType
from order_service.errors import ValidationError


@given(st.integers(min_value=1, max_value=MAX_QUANTITY), st.sampled_from(["{}", "{}.0", " {} "]))
def test_a_whole_quantity_is_read_exactly_in_any_spelling(quantity: int, spelling: str) -> None:
    _, (alert,) = read_alerts({"quantity": spelling.format(quantity)})

    assert alert.quantity == quantity


@given(
    st.sampled_from(["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "1e999999", "1e3", "-1"])
)
def test_a_non_finite_quantity_or_price_is_refused(text: str) -> None:
    for field in ("quantity", "price"):
        with pytest.raises(ValidationError) as refused:
            read_alerts({field: text})
        assert refused.value.details["field"] == field


@given(st.dictionaries(st.sampled_from(["action", "ticker", "quantity", "time"]), st.just("1")))
def test_an_alert_without_an_id_has_the_same_identity_whatever_its_key_order(
    fields: dict[str, str],
) -> None:
    body = {**fields, "action": "buy", "ticker": "INFY"}
    reordered = dict(reversed(list(body.items())))

    assert read_alerts(body)[1][0].alert_id == read_alerts(reordered)[1][0].alert_id


def test_an_alert_id_is_its_identity_and_other_fields_do_not_change_it() -> None:
    first = read_alerts({"id": "tv-1", "action": "buy", "note": "a"})[1][0]
    second = read_alerts({"id": "tv-1", "action": "sell", "note": "b"})[1][0]

    assert first.alert_id == second.alert_id == "id:tv-1"
    assert (first.action, second.action) == (TransactionType.BUY, TransactionType.SELL)


def test_a_chartink_alert_is_one_alert_per_stock_with_its_trigger_price() -> None:
    shape, alerts = read_alerts({"stocks": "infy, NSE:TCS", "trigger_prices": "1520.5,3900"})

    assert shape == CHARTINK
    assert [(a.tradingsymbol, a.price) for a in alerts] == [
        ("INFY", Decimal("1520.5")),
        ("TCS", Decimal("3900")),
    ]
    assert len({a.alert_id for a in alerts}) == 1  # the order key adds each symbol


def test_a_plain_alert_is_read_as_such() -> None:
    assert read_alerts({"action": "Sell", "symbol": "M&M", "qty": 4})[0] == PLAIN
