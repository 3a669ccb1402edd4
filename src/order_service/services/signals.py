"""Signals: alerts from charting tools placing a strategy's SCRIPT orders through its tokens.

A token is created by a person for one strategy and shown once (only its hash is stored, as
for API keys, so a lookup by hash is the only comparison and it leaks nothing of the secret).
An alert acts as that person's key bound to the strategy would: the order goes to the
strategy's account, as a SCRIPT order, through the same placement as every other, with the
alert's identity as its idempotency key. Every alert read is an account event, with its
outcome: ``SignalReceived`` with the orders, or ``SignalRejected`` with the reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from order_service.domain.account import Principal
from order_service.domain.account_events import AccountEvent
from order_service.domain.alert import Alert, read_alerts
from order_service.domain.ids import ClientOrderId, SignalTokenId, StrategyId, new_ulid
from order_service.domain.order import OrderRequest
from order_service.domain.signal import (
    SIGNAL_RECEIVED,
    SIGNAL_REJECTED,
    SIGNAL_TOKEN_PREFIX,
    OrderTemplate,
    SignalToken,
)
from order_service.errors import NotFound, OrderServiceError
from order_service.services.orders import OrderService, Placement
from order_service.services.ports import Clock, UnitOfWorkFactory
from order_service.services.strategies import refuse_scripts, visible_strategy
from order_service.services.users import hash_api_key


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """What one alert did: its shape and each order's placement (new or a repeat)."""

    source: str
    placements: list[Placement]


class SignalService:
    """Issues a strategy's signal tokens and turns the alerts posted with them into orders."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, orders: OrderService) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._orders = orders

    async def create_token(
        self, principal: Principal, strategy_id: StrategyId, template: OrderTemplate
    ) -> tuple[SignalToken, str]:
        """Issue a token for a visible strategy that takes orders; the secret is returned once."""
        refuse_scripts(principal)
        secret = SIGNAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self._uow() as uow:
            strategy = await visible_strategy(uow, principal, strategy_id)
            strategy.check_takes_orders()
            token = SignalToken(
                SignalTokenId(new_ulid()),
                strategy.strategy_id,
                strategy.account_id,
                principal.user_id,
                template,
                self._clock.now(),
            )
            await uow.signal_tokens.add(token, hash_api_key(secret))
            await uow.commit()
        return token, secret

    async def list_tokens(self, principal: Principal, strategy_id: StrategyId) -> list[SignalToken]:
        async with self._uow() as uow:
            await visible_strategy(uow, principal, strategy_id)
            return await uow.signal_tokens.list(strategy_id)

    async def revoke_token(
        self, principal: Principal, strategy_id: StrategyId, token_id: SignalTokenId
    ) -> None:
        """Revoke a token at once: its alerts are answered 404 from then on."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            await visible_strategy(uow, principal, strategy_id)
            if not await uow.signal_tokens.revoke(strategy_id, token_id, self._clock.now()):
                raise NotFound(f"no live signal token {token_id}", details={"token_id": token_id})
            await uow.commit()

    async def receive(self, secret: str, body: Callable[[], object]) -> SignalOutcome:
        """Place the orders an alert asks for, each once, and record what came of it.

        ``body`` parses the alert's body: it is read only once the token is known.
        """
        token, principal = await self._holder(secret)
        try:
            source, alerts = read_alerts(body())
            orders = [_order_of(token, alert) for alert in alerts]
        except OrderServiceError as exc:
            await self._record(token, SIGNAL_REJECTED, {**_refusal(exc), "source": None})
            raise
        placements: list[Placement] = []
        for request, key in orders:
            try:
                placements.append(await self._orders.place_order(principal, request, key))
            except OrderServiceError as exc:
                data = {**_refusal(exc), "source": source, "orders": _orders(placements)}
                await self._record(token, SIGNAL_REJECTED, data)
                raise
        data = {"source": source, "orders": _orders(placements)}
        await self._record(token, SIGNAL_RECEIVED, data)
        return SignalOutcome(source, placements)

    async def _holder(self, secret: str) -> tuple[SignalToken, Principal]:
        """The live token and the person it trades as; anything else is one same NotFound."""
        async with self._uow() as uow:
            token = await uow.signal_tokens.by_hash(hash_api_key(secret))
            user = None if token is None else await uow.users.get(token.user_id)
        if token is None or user is None:
            raise NotFound("no such signal token")
        return token, replace(user, strategy_id=token.strategy_id)

    async def _record(self, token: SignalToken, name: str, data: dict[str, Any]) -> None:
        event = AccountEvent(token.account_id, name, _about(token) | data, self._now())
        async with self._uow() as uow:
            await uow.account_events.add(event)
            await uow.commit()

    def _now(self) -> datetime:
        return self._clock.now()


def _order_of(token: SignalToken, alert: Alert) -> tuple[OrderRequest, ClientOrderId]:
    terms = token.template.order_terms(alert)
    request = OrderRequest.create(
        account_id=token.account_id, strategy_id=token.strategy_id, **terms
    )
    return request, token.idempotency_key(alert, request.tradingsymbol)


def _about(token: SignalToken) -> dict[str, Any]:
    return {"token_id": token.token_id, "strategy_id": token.strategy_id}


def _refusal(exc: OrderServiceError) -> dict[str, Any]:
    return {"code": exc.error_code, "reason": exc.message, "field": exc.details.get("field")}


def _orders(placements: list[Placement]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": p.order.order_id,
            "client_order_id": p.order.client_order_id,
            "tradingsymbol": p.order.request.tradingsymbol,
            "status": p.order.status.value,
            "repeat": not p.created,
        }
        for p in placements
    ]
