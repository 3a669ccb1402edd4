"""Exact numbers in request bodies: a JSON number, or a plain decimal string whose OpenAPI
pattern is exactly what the server takes.

A string is checked against its type's pattern and nothing looser: at most ten significant
digits before the point and eight after it (eighteen characters each side, so zeros may pad),
no exponent, no sign unless the type allows one, and the type's range. A JSON number is bounded
by the schema's minimum and maximum; its places are checked by Pydantic (a JSON Schema cannot
bound a binary number's decimal places).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

_INT = r"0{0,8}[0-9]{1,10}"  # ten significant digits at most, eighteen characters
_PLACES = r"(?:\.[0-9]{1,8}0{0,10})?"  # eight significant places at most, eighteen characters
_NOT_ZERO = r"(?![0.]*$)"
POSITIVE = rf"{_NOT_ZERO}{_INT}{_PLACES}"
NON_NEGATIVE = rf"{_INT}{_PLACES}"
# Kite's market protection: -1 (automatic), or a percentage above 0 and up to 100.
PROTECTION = (
    rf"-0{{0,17}}1(?:\.0{{1,18}})?|{_NOT_ZERO}0{{0,16}}[0-9]{{1,2}}{_PLACES}"
    r"|0{0,15}100(?:\.0{1,18})?"
)


def exact(pattern: str) -> BeforeValidator:
    """Take a JSON number, or a string matching ``pattern`` whole; refuse anything looser."""
    shape = re.compile(pattern)

    def parse(value: object) -> object:
        if isinstance(value, bool):
            raise PydanticCustomError("decimal_type", "a number, not a boolean")
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float) and math.isfinite(value):
            return Decimal(repr(value))
        if isinstance(value, str) and shape.fullmatch(value):
            return Decimal(value)
        if isinstance(value, Decimal) and value.is_finite():
            return value
        raise PydanticCustomError(
            "decimal_type",
            'a finite JSON number or a plain decimal string such as "1520.50", '
            "with at most ten digits before the point and eight after it, in range",
        )

    return BeforeValidator(parse)


def _schema(pattern: str, number: dict[str, Any]) -> Any:
    """The OpenAPI of such a type: the number's bounds, the string's pattern."""

    def edit(schema: dict[str, Any]) -> None:
        schema.pop("anyOf", None)
        string = {"type": "string", "pattern": f"^(?:{pattern})$"}
        schema["anyOf"] = [{"type": "number", **number}, string]

    return edit


_DIGITS: dict[str, Any] = {"strict": True, "max_digits": 18, "decimal_places": 8}
_BELOW = 10_000_000_000  # eleven digits before the point: more than ten

PositiveDecimal = Annotated[
    Decimal,
    Field(
        gt=0,
        lt=_BELOW,
        **_DIGITS,
        json_schema_extra=_schema(POSITIVE, {"exclusiveMinimum": 0, "exclusiveMaximum": _BELOW}),
    ),
    exact(POSITIVE),
]
NonNegativeDecimal = Annotated[
    Decimal,
    Field(
        ge=0,
        lt=_BELOW,
        **_DIGITS,
        json_schema_extra=_schema(NON_NEGATIVE, {"minimum": 0, "exclusiveMaximum": _BELOW}),
    ),
    exact(NON_NEGATIVE),
]


def _protection(value: Decimal) -> Decimal:
    if value != -1 and not 0 < value <= 100:
        raise PydanticCustomError(
            "market_protection", "market protection is -1 (automatic) or above 0 and up to 100"
        )
    return value


def _protection_schema(schema: dict[str, Any]) -> None:
    schema.pop("anyOf", None)
    schema["anyOf"] = [
        {"type": "number", "enum": [-1]},
        {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
        {"type": "string", "pattern": f"^(?:{PROTECTION})$"},
    ]


MarketProtection = Annotated[
    Decimal,
    Field(ge=-1, le=100, **_DIGITS, json_schema_extra=_protection_schema),
    exact(PROTECTION),
    AfterValidator(_protection),
]


def _whole(value: object) -> object:
    """A whole JSON number: 5 or 5.0 (JSON Schema's integer takes both), never true or "5"."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "a whole number, not a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Strict but for a whole float: a string, a boolean or 5.5 is refused. It goes after the
# field's `Field(strict=True, gt=..., le=...)`: bounds given in a later `Annotated` over a type
# holding a validator reach the OpenAPI as Pydantic's own words (`gt`), not JSON Schema's.
WHOLE_NUMBER = BeforeValidator(_whole)
