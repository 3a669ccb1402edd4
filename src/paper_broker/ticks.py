"""Kite ticker binary frames (KITE.md 6.3): LTP, quote and full packets, big-endian."""

from __future__ import annotations

import struct
from decimal import Decimal

from .instruments import Instrument
from .prices import PriceWalk
from .quotes import depth_view, quote_view

LTP, QUOTE, FULL = "ltp", "quote", "full"
MODES = frozenset({LTP, QUOTE, FULL})
HEARTBEAT = b"\x00"


def frame(packets: list[bytes]) -> bytes:
    """A frame: the packet count, then each packet behind its length."""
    parts = [struct.pack(">H", len(packets))]
    for packet in packets:
        parts.append(struct.pack(">H", len(packet)))
        parts.append(packet)
    return b"".join(parts)


def packet(item: Instrument, walk: PriceWalk, mode: str) -> bytes:
    quote = quote_view(item, walk)
    ohlc = quote["ohlc"]
    token = item.instrument_token
    if mode == LTP:
        return struct.pack(">II", token, _paise(quote["last_price"]))
    prices = [_paise(ohlc[name]) for name in ("open", "high", "low", "close")]
    if item.segment == "INDICES":
        return _index_packet(token, quote["last_price"], prices, walk.second, mode)
    body = struct.pack(
        ">IIIIIIIIIII",
        token,
        _paise(quote["last_price"]),
        quote["last_quantity"],
        _paise(quote["average_price"]),
        quote["volume"],
        quote["buy_quantity"],
        quote["sell_quantity"],
        *prices,
    )
    return body if mode == QUOTE else body + _full_tail(item, walk)


def _index_packet(token: int, last: Decimal, prices: list[int], second: int, mode: str) -> bytes:
    opening, high, low, close = prices
    # Bytes 24-28 carry the change, which the SDK recomputes from the close; zero is fine.
    body = struct.pack(">IIIIIII", token, _paise(last), high, low, opening, close, 0)
    return body if mode == QUOTE else body + struct.pack(">I", second)


def _full_tail(item: Instrument, walk: PriceWalk) -> bytes:
    second = walk.second
    # last trade time, OI, OI day high, OI day low, exchange timestamp
    head = struct.pack(">IIIII", second, 0, 0, 0, second)
    depth = depth_view(walk, item.lot_size or 1)
    entries = [
        struct.pack(">IIH2x", level["quantity"], _paise(level["price"]), level["orders"])
        for side in ("buy", "sell")
        for level in depth[side]
    ]
    return head + b"".join(entries)


def _paise(price: object) -> int:
    return int(Decimal(str(price)) * 100)
