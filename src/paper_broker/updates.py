"""Order updates as Kite sends them: the postback payload, to a URL and to ticker connections.

An update is published on COMPLETE, CANCELLED, REJECTED and UPDATE (a modification of an open
order or a partial fill, reported with status "UPDATE"). The payload is built only when someone
listens: a user without a postback URL and without an open ticker connection costs one lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from .clock import format_timestamp
from .orders import Order, OrderListener
from .postbacks import Postbacks
from .sessions import User
from .views import order_view
from .wire import dumps

Push = Callable[[str], None]
# Postback fields of KITE.md 6.1 taken from the order as the order book shows it.
ORDER_FIELDS = (
    "placed_by", "order_id", "exchange_order_id", "parent_order_id", "status_message",
    "status_message_raw", "order_timestamp", "exchange_update_timestamp", "exchange_timestamp",
    "variety", "exchange", "tradingsymbol", "instrument_token", "order_type", "transaction_type",
    "validity", "product", "quantity", "disclosed_quantity", "price", "trigger_price",
    "average_price", "filled_quantity", "pending_quantity", "cancelled_quantity",
    "market_protection", "meta", "tag", "guid",
)  # fmt: skip


def checksum(order_id: str, order_timestamp: str, api_secret: str) -> str:
    """Kite's postback checksum: SHA-256 of the plain concatenation, lowercase hex."""
    return hashlib.sha256((order_id + order_timestamp + api_secret).encode()).hexdigest()


def app_id(api_key: str) -> int:
    """Kite's numeric app id; the paper broker derives a stable one from the API key."""
    return int(hashlib.sha256(api_key.encode()).hexdigest()[:6], 16)


def update_payload(order: Order, user: User, event: str) -> dict[str, Any]:
    view = order_view(order)
    timestamp = format_timestamp(order.state.order_timestamp) or ""
    return {
        "user_id": order.user_id,
        "unfilled_quantity": view["pending_quantity"],
        "app_id": app_id(user.api_key),
        "checksum": checksum(order.order_id, timestamp, user.api_secret),
        **{name: view[name] for name in ORDER_FIELDS},
        "status": event,
    }


class OrderFeed:
    """Where each user's order updates go: a postback URL and open ticker connections.

    The feed belongs to the running server and outlives a broker that the admin API resets;
    each broker listens to its orders through `publisher`, bound to that broker's users.
    """

    def __init__(self, postbacks: Postbacks) -> None:
        self.postbacks = postbacks
        self.sockets: dict[str, set[Push]] = {}

    def publisher(self, users: Mapping[str, User]) -> OrderListener:
        """The listener of one broker's orders; `users` are that broker's, read at each update."""

        def publish(order: Order, event: str) -> None:
            self.publish(users.get(order.user_id), order, event)

        return publish

    def subscribe(self, user_id: str, push: Push) -> None:
        self.sockets.setdefault(user_id, set()).add(push)

    def unsubscribe(self, user_id: str, push: Push) -> None:
        pushes = self.sockets.get(user_id)
        if pushes is not None:
            pushes.discard(push)
            if not pushes:
                del self.sockets[user_id]

    @property
    def connections(self) -> int:
        return sum(len(pushes) for pushes in self.sockets.values())

    def publish(self, user: User | None, order: Order, event: str) -> None:
        """Send the update to the postback URL and ticker connections of the order's `user`."""
        pushes = self.sockets.get(order.user_id)
        if user is None or (user.postback_url is None and not pushes):
            return
        payload = update_payload(order, user, event)
        if user.postback_url is not None:
            self.postbacks.enqueue(user.postback_url, dumps(payload))
        if pushes:
            # Over the WebSocket Kite leaves the checksum blank.
            frame = dumps({"type": "order", "data": {**payload, "checksum": ""}}).decode()
            for push in list(pushes):
                push(frame)
