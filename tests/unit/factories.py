"""The shared factories now live in ``tests.factories``; this name stays for older imports."""

from tests.factories import (
    ACCOUNT,
    LIMIT_PRICE,
    NOW,
    make_limit_request,
    make_order,
    make_report,
    make_request,
)

__all__ = [
    "ACCOUNT",
    "LIMIT_PRICE",
    "NOW",
    "make_limit_request",
    "make_order",
    "make_report",
    "make_request",
]
