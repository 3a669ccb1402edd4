"""The pre-trade rules against the real paper exchange: an order our lot, tick, freeze and
circuit-band rules accept is never refused by the paper broker for one of those reasons.

The paper engine runs in process (its own catalogue, price walks and circuit bands); our rules
see its instruments and quotes as the broker adapter would hand them over. Market hours are
not drawn: the paper exchange's simulated clock trades around the clock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from order_service.domain.ids import AccountId
from order_service.domain.instrument import Instrument
from order_service.domain.order import OrderRequest
from order_service.domain.reports import QuoteReport
from order_service.domain.risk import (
    OrderTerms,
    check_circuit_band,
    check_freeze_quantity,
    check_lot_size,
    check_tick_size,
)
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.errors import RiskCheckFailed
from paper_broker import instruments as paper
from paper_broker.catalogue import build_catalogue
from paper_broker.clock import IST, Clock
from paper_broker.engine import Exchange as PaperExchange
from paper_broker.errors import InputError, MarginError, OrderError
from paper_broker.prices import Market
from paper_broker.rms import CIRCUIT_RULE
from paper_broker.validation import parse_place

START = datetime(2026, 12, 7, 10, 0, 0, tzinfo=IST)  # a Monday inside the NSE session
CATALOGUE = build_catalogue(START.date())
TRADED = sorted(
    (i for i in CATALOGUE if i.exchange in {"NSE", "NFO"} and i.instrument_type != "INDEX"),
    key=lambda i: i.key,
)
# What the paper broker says when it refuses for a reason our rules cover.
COVERED = ("lot size", "tick size", "freeze", "circuit")


def ours(item: paper.Instrument) -> Instrument:
    """The instrument as our master holds it."""
    return Instrument(item.exchange, item.tradingsymbol, item.instrument_token, item.name,
                      item.instrument_type, item.segment, item.tick_size, item.lot_size,
                      item.expiry, item.strike, item.freeze_quantity or None)  # fmt: skip


def quote(exchange: PaperExchange, item: paper.Instrument) -> QuoteReport:
    """The instrument's quote as the broker adapter parses Kite's (no band: None)."""
    walk = exchange.market.walk(item, exchange.clock.second())
    band = (walk.lower * walk.tick, walk.upper * walk.tick) if walk.percent else (None, None)
    return QuoteReport(item.exchange, item.tradingsymbol, walk.price, walk.price, *band)


def accepted(request: OrderRequest, item: Instrument, seen: QuoteReport) -> bool:
    terms = OrderTerms(request, item, seen)
    try:
        for rule in (check_lot_size, check_tick_size, check_freeze_quantity, check_circuit_band):
            rule(terms)
    except RiskCheckFailed:
        return False
    return True


def _exchange() -> PaperExchange:
    moment = START.timestamp()
    clock = Clock("simulated", wall=lambda: moment)  # frozen: quotes and bands hold still
    exchange = PaperExchange(CATALOGUE, Market(seed=3, anchor_second=clock.second()), clock, None)
    exchange.registry.open_account("U1", Decimal("1000000000"))
    return exchange


EXCHANGE = _exchange()


@settings(max_examples=200, deadline=None)
@given(
    item=st.sampled_from(TRADED),
    lots=st.integers(min_value=1, max_value=60),
    odd=st.integers(min_value=-3, max_value=3),
    half_ticks=st.integers(min_value=-400, max_value=400),
    side=st.sampled_from(["BUY", "SELL"]),
)
def test_an_order_our_rules_accept_is_never_refused_for_a_reason_they_cover(
    item: paper.Instrument, lots: int, odd: int, half_ticks: int, side: str
) -> None:
    exchange = EXCHANGE
    seen = quote(exchange, item)
    quantity = max(1, lots * item.lot_size + odd)
    price = max(item.tick_size, seen.last_price + half_ticks * item.tick_size / 2)
    product = "NRML" if item.exchange == "NFO" else "MIS"
    request = OrderRequest(
        AccountId("U1"), Exchange(item.exchange), item.tradingsymbol, TransactionType(side),
        quantity, Product(product), OrderType.LIMIT, price=price,
    )  # fmt: skip
    if not accepted(request, ours(item), seen):
        return
    form = {"exchange": item.exchange, "tradingsymbol": item.tradingsymbol,
            "transaction_type": side, "quantity": str(quantity), "product": product,
            "order_type": "LIMIT", "price": str(price)}  # fmt: skip
    refusal, order_ids = _place(exchange, form)
    assert not any(word in refusal.lower() for word in COVERED), refusal
    for order_id in order_ids:
        state = exchange.registry.orders[order_id].state
        assert CIRCUIT_RULE not in (state.status_message or ""), state


def _place(exchange: PaperExchange, form: dict[str, str]) -> tuple[str, list[str]]:
    """The paper broker's refusal ("" if none) and the orders it made."""
    try:
        return "", exchange.place("U1", parse_place(form, "regular", CATALOGUE))
    except MarginError:
        return "", []  # margin is the broker's to judge, not a rule of ours
    except (InputError, OrderError) as refusal:
        return str(refusal), []
