"""Kite postbacks: the checksum that proves a postback came from the broker."""

from __future__ import annotations

import hashlib
import hmac


def postback_checksum(order_id: str, order_timestamp: str, api_secret: str) -> str:
    """Kite's checksum: SHA-256 of the plain concatenation (not an HMAC), lowercase hex."""
    return hashlib.sha256(f"{order_id}{order_timestamp}{api_secret}".encode()).hexdigest()


def is_authentic(order_id: str, order_timestamp: str, api_secret: str, checksum: str) -> bool:
    """Compare in constant time, so the checksum cannot be guessed byte by byte."""
    expected = postback_checksum(order_id, order_timestamp, api_secret)
    # As bytes: compare_digest refuses non-ASCII text, and a checksum is whatever was sent.
    return hmac.compare_digest(expected.encode(), checksum.strip().lower().encode())
