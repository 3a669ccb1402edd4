"""Answers of the books routes: positions, holdings, trades and P&L (money as exact decimals)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from pydantic import BaseModel, Field

from order_service.domain.fill import Fill
from order_service.domain.position import PositionView
from order_service.services.book_lines import PnlLine, PositionLine
from order_service.services.books import HoldingLine, Holdings, PnlBook, PnlQuery


class PositionViewOut(BaseModel):
    """One of Kite's position views (``net`` or ``day``), field for field."""

    exchange: str
    tradingsymbol: str
    product: str
    quantity: int
    overnight_quantity: int
    multiplier: int
    average_price: Decimal
    close_price: Decimal
    last_price: Decimal
    value: Decimal
    pnl: Decimal
    m2m: Decimal
    unrealised: Decimal
    realised: Decimal
    buy_quantity: int
    buy_price: Decimal
    buy_value: Decimal
    buy_m2m: Decimal
    sell_quantity: int
    sell_price: Decimal
    sell_value: Decimal
    sell_m2m: Decimal
    day_buy_quantity: int
    day_buy_price: Decimal
    day_buy_value: Decimal
    day_sell_quantity: int
    day_sell_price: Decimal
    day_sell_value: Decimal
    mark_source: str

    @classmethod
    def of(cls, view: PositionView) -> PositionViewOut:
        return cls.model_validate(asdict(view))


class PositionOut(BaseModel):
    account_id: str
    strategy_id: str | None
    portfolio_id: str | None = Field(
        description="with group_by=portfolio: the portfolio this strategy's position is in"
    )
    net: PositionViewOut
    day: PositionViewOut | None  # None when nothing of it traded on the day (only carried)

    @classmethod
    def of(cls, line: PositionLine) -> PositionOut:
        assert line.key.account_id is not None  # a position is always one account's
        return cls(
            account_id=line.key.account_id,
            strategy_id=line.key.strategy_id,
            portfolio_id=line.key.portfolio_id,
            net=PositionViewOut.of(line.pair.net),
            day=PositionViewOut.of(line.pair.day) if line.pair.day else None,
        )


class PnlOut(BaseModel):
    """Gross (realised + unrealised), every charge by name, the charges' total, and net."""

    account_id: str | None = Field(description="None for a portfolio's line (it spans accounts)")
    strategy_id: str | None
    portfolio_id: str | None
    realised: Decimal
    unrealised: Decimal
    gross: Decimal
    charges: dict[str, Decimal]
    total_charges: Decimal
    net: Decimal

    @classmethod
    def of(cls, line: PnlLine) -> PnlOut:
        charges = line.charges.as_dict()
        total = charges.pop("total")
        figures = line.figures
        return cls(
            account_id=line.key.account_id,
            strategy_id=line.key.strategy_id,
            portfolio_id=line.key.portfolio_id,
            realised=figures.realised,
            unrealised=figures.unrealised,
            gross=figures.gross,
            charges=charges,
            total_charges=total,
            net=line.net,
        )


class UnchargedOut(BaseModel):
    """An executed order left out of the charges: no schedule covers it (say why)."""

    account_id: str
    order_id: str
    trade_date: str
    reason: str


class PnlAnswer(BaseModel):
    method: str
    group_by: str
    from_date: str
    to_date: str
    items: list[PnlOut]
    uncharged: list[UnchargedOut]

    @classmethod
    def of(cls, query: PnlQuery, book: PnlBook) -> PnlAnswer:
        return cls(
            method=query.method.value,
            group_by=query.group_by.value,
            from_date=str(query.start),
            to_date=str(query.end),
            items=[PnlOut.of(line) for line in book.lines],
            uncharged=[
                UnchargedOut(
                    account_id=u.account_id,
                    order_id=u.order_id,
                    trade_date=str(u.trade_date),
                    reason=u.reason,
                )
                for u in book.uncharged
            ],
        )


class HoldingOut(BaseModel):
    account_id: str
    exchange: str
    tradingsymbol: str
    isin: str | None
    quantity: int
    t1_quantity: int
    average_price: Decimal
    last_price: Decimal
    close_price: Decimal
    pnl: Decimal
    by_strategy: dict[str, int]

    @classmethod
    def of(cls, line: HoldingLine) -> HoldingOut:
        holding = line.holding
        return cls(
            account_id=line.account_id,
            exchange=holding.exchange,
            tradingsymbol=holding.tradingsymbol,
            isin=holding.isin,
            quantity=holding.quantity,
            t1_quantity=holding.t1_quantity,
            average_price=holding.average_price,
            last_price=holding.last_price,
            close_price=holding.close_price,
            pnl=holding.pnl,
            by_strategy=dict(line.by_strategy),
        )


class UnavailableOut(BaseModel):
    """An account left out of an answer, and why (the error's code and message)."""

    account_id: str
    code: str
    message: str


class HoldingsAnswer(BaseModel):
    items: list[HoldingOut]
    unavailable: list[UnavailableOut]

    @classmethod
    def of(cls, answer: Holdings) -> HoldingsAnswer:
        return cls(
            items=[HoldingOut.of(line) for line in answer.items],
            unavailable=[
                UnavailableOut(account_id=account_id, code=exc.code, message=exc.message)
                for account_id, exc in answer.unavailable
            ],
        )


class TradeOut(BaseModel):
    sequence: int
    account_id: str
    order_id: str
    strategy_id: str
    trade_id: str
    broker_order_id: str
    exchange: str
    tradingsymbol: str
    product: str
    transaction_type: str
    quantity: int
    price: Decimal
    exchange_timestamp: str | None
    recorded_at: str
    source: str

    @classmethod
    def of(cls, fill: Fill) -> TradeOut:
        return cls.model_validate(trade_row(fill))


class TradePage(BaseModel):
    items: list[TradeOut]
    next_cursor: int | None


TRADE_COLUMNS = tuple(TradeOut.model_fields)
PNL_COLUMNS = (
    "account_id",
    "strategy_id",
    "portfolio_id",
    "realised",
    "unrealised",
    "gross",
    "total_charges",
)


def trade_row(fill: Fill) -> dict[str, object]:
    report = fill.report
    stamp = report.exchange_timestamp
    return {
        "sequence": fill.sequence or 0,
        "account_id": fill.account_id,
        "order_id": fill.order_id,
        "strategy_id": fill.strategy_id,
        "trade_id": report.trade_id,
        "broker_order_id": report.broker_order_id,
        "exchange": report.exchange,
        "tradingsymbol": report.tradingsymbol,
        "product": report.product,
        "transaction_type": report.transaction_type.value,
        "quantity": report.quantity,
        "price": report.price,
        "exchange_timestamp": stamp.isoformat() if stamp else None,
        "recorded_at": fill.recorded_at.isoformat(),
        "source": fill.source.value,
    }
