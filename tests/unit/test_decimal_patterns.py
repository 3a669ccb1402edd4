"""The OpenAPI pattern of each exact-number type is exactly the strings the server takes: a
string matches the pattern if and only if the field accepts it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from order_service.entrypoints.api.decimals import (
    MarketProtection,
    NonNegativeDecimal,
    PositiveDecimal,
)

TYPES: dict[str, Any] = {
    "positive": PositiveDecimal,
    "non_negative": NonNegativeDecimal,
    "market_protection": MarketProtection,
}
# Digit strings around every edge: signs, zeros, lengths either side of ten and eight.
numbers = st.builds(
    lambda sign, whole, point, places: f"{sign}{whole}{point}{places}",
    st.sampled_from(["", "-", "+"]),
    st.text("0123456789", min_size=0, max_size=20),
    st.sampled_from(["", ".", ".."]),
    st.text("0123456789", min_size=0, max_size=20),
)


def accepted(kind: str, text: str) -> bool:
    try:
        TypeAdapter(TYPES[kind]).validate_python(text)
    except ValidationError:
        return False
    return True


def matches(kind: str, text: str) -> bool:
    schema = TypeAdapter(TYPES[kind]).json_schema()
    (string,) = [option for option in schema["anyOf"] if option.get("type") == "string"]
    return re.fullmatch(string["pattern"], text) is not None


@pytest.mark.parametrize("kind", sorted(TYPES))
@given(text=numbers)
@example(text="0")
@example(text="-1")
@example(text="100.00000000000")
@example(text="100.5")
@example(text="1234567890.12345678")
@example(text="12345678901")
@example(text="0.000000001")
@example(text="000000000000000001")
def test_the_pattern_is_what_the_server_takes(kind: str, text: str) -> None:
    assert matches(kind, text) == accepted(kind, text), text


@pytest.mark.parametrize(
    ("kind", "text", "taken"),
    [
        ("positive", "1520.50", True),
        ("positive", "0", False),
        ("positive", "-5", False),
        ("non_negative", "0", True),
        ("market_protection", "-1", True),
        ("market_protection", "0", False),
        ("market_protection", "-0.5", False),
        ("market_protection", "2.5", True),
        ("market_protection", "100", True),
        ("market_protection", "100.01", False),
    ],
)
def test_the_edges_are_where_kite_puts_them(kind: str, text: str, taken: bool) -> None:
    assert accepted(kind, text) is taken
    assert matches(kind, text) is taken
