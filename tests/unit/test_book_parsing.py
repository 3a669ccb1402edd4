"""Reading a book row by row: a malformed row is set aside with what still names it."""

from __future__ import annotations

from typing import Any

from order_service.adapters.broker.parsing import UnreadableRow, fill_book, order_book

GOOD: dict[str, Any] = {"order_id": "2611290000001", "status": "OPEN", "tag": "OURTAG"}


def test_a_row_that_is_not_an_object_is_set_aside_naming_nothing() -> None:
    book, skipped = order_book([GOOD, "not a row", None])

    assert [r.broker_order_id for r in book.reports] == ["2611290000001"]
    assert skipped == [UnreadableRow("not an object")] * 2
    assert (book.unreadable, book.unnamed) == (frozenset(), 2)


def test_an_unreadable_row_is_named_by_what_is_legible_only() -> None:
    rows = [{**GOOD, "order_id": 2611290000002, "tag": ["x"], "price": "abc", "token": "s3cret"}]

    book, (skipped,) = order_book(rows)

    assert book.unreadable == {"2611290000002"}
    context = skipped.context()
    assert set(context) == {"reason", "order_id"}
    assert "s3cret" not in repr(context)


def test_a_trade_row_with_a_boolean_quantity_is_set_aside() -> None:
    fills, (skipped,) = fill_book([{"trade_id": "T1", "order_id": "1", "quantity": True}])

    assert fills == []
    assert (skipped.trade_id, skipped.order_id) == ("T1", "1")
