"""Kite's words on the wire: order types, varieties, validities, sides, products, exchanges.

Each is a StrEnum, so a member is its string: equal to it, hashed like it and written as it in
JSON and CSV. Forms, state files and journals carry plain strings and compare equal to members;
what the paper broker writes reads the same as before. The groups below are Kite's rules about
these words, kept here so that no other module spells the words out.
"""

from __future__ import annotations

from enum import StrEnum


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"  # stop-loss limit
    SL_M = "SL-M"  # stop-loss market


class Variety(StrEnum):
    REGULAR = "regular"
    AMO = "amo"
    CO = "co"
    ICEBERG = "iceberg"
    AUCTION = "auction"


class Validity(StrEnum):
    DAY = "DAY"
    IOC = "IOC"
    TTL = "TTL"


class TransactionType(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Product(StrEnum):
    CNC = "CNC"
    NRML = "NRML"
    MIS = "MIS"
    MTF = "MTF"
    CO = "CO"
    # Bracket orders are retired: Kite still lists the product in a profile, nothing takes it.
    BO = "BO"


class ExchangeCode(StrEnum):
    NSE = "NSE"
    BSE = "BSE"
    NFO = "NFO"
    CDS = "CDS"
    BFO = "BFO"
    MCX = "MCX"
    BCD = "BCD"
    # Kite's mutual fund platform: in a profile's list of exchanges, not a place to trade.
    MF = "MF"


# Order types carrying a limit price, a trigger price, or trading at the market once live.
PRICED_TYPES = frozenset({OrderType.LIMIT, OrderType.SL})
STOP_TYPES = frozenset({OrderType.SL, OrderType.SL_M})
MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.SL_M})
# Products of stocks only (delivery, margin trading), and the ones squared off within the day.
DELIVERY_PRODUCTS = frozenset({Product.CNC, Product.MTF})
INTRADAY_PRODUCTS = frozenset({Product.MIS, Product.CO})
EQUITY_EXCHANGES = frozenset({ExchangeCode.NSE, ExchangeCode.BSE})
