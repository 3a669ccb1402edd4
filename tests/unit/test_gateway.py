"""GuardedBroker in front of a FakeBroker: pacing, the circuit breaker and the one token reload."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from order_service.adapters.broker.fake import FakeBroker
from order_service.adapters.coordination.memory import InProcessRateBudget
from order_service.bootstrap import budget_rules
from order_service.config import Settings
from order_service.domain.budget import Bucket
from order_service.domain.history import CandleRequest, Interval
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.order import OrderChanges, OrderRequest
from order_service.domain.reports import OrderStatusReport
from order_service.domain.values import Variety
from order_service.errors import (
    AuthenticationError,
    BrokerAPIError,
    BrokerOutcomeUnknown,
    BrokerUnavailable,
    DataFormatError,
    InsufficientFundsError,
    InvalidSymbolError,
    OrderRejected,
    OrderServiceError,
    RateLimitError,
)
from order_service.services.gateway import GatewayPolicy, GuardedBroker
from order_service.services.ports import BrokerSession
from tests.factories import ACCOUNT, make_limit_request, make_request

pytestmark = pytest.mark.asyncio

OTHER = AccountId("PAPER2")
SESSION = BrokerSession(ACCOUNT, "paper", "token-1")
SPAN_START = datetime(2026, 1, 5, tzinfo=UTC)
NEWER = BrokerSession(ACCOUNT, "paper", "token-2")
INFRASTRUCTURE = [BrokerUnavailable(), BrokerOutcomeUnknown(), DataFormatError()]
REFUSALS = [
    OrderRejected(),
    InsufficientFundsError(),
    InvalidSymbolError(),
    BrokerAPIError(),
    RateLimitError(),
    AuthenticationError(),
]


class Ticker:
    """The gateway's clock and sleep: sleeping moves the clock and is recorded."""

    def __init__(self) -> None:
        self.current = 500.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += seconds


class RecordingBroker(FakeBroker):
    """A FakeBroker that notes the token of every placement and can hold ``orders`` at a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens_used: list[str] = []
        self.hold: asyncio.Event | None = None

    async def orders(self, session: BrokerSession) -> list[OrderStatusReport]:
        if self.hold is not None:
            await self.hold.wait()
        return await super().orders(session)

    async def place_order(
        self, session: BrokerSession, request: OrderRequest, tag: str
    ) -> BrokerOrderId:
        self.tokens_used.append(session.access_token)
        return await super().place_order(session, request, tag)


class Gateway:
    """A GuardedBroker wired to a recording fake, a fake clock and a settable stored session."""

    def __init__(self, max_wait: float = 30.0) -> None:
        self.ticker = Ticker()
        self.broker = RecordingBroker()
        self.stored: BrokerSession | None = SESSION
        self.budget = InProcessRateBudget(budget_rules(Settings()), now=self.ticker.now)
        self.guarded = GuardedBroker(
            self.broker,
            self.budget,
            self.session_of,
            GatewayPolicy(max_wait=max_wait, breaker_failures=5, breaker_cooldown=10.0),
            now=self.ticker.now,
            sleep=self.ticker.sleep,
        )

    async def session_of(self, account_id: AccountId) -> BrokerSession | None:
        return self.stored

    async def place(self, session: BrokerSession = SESSION) -> BrokerOrderId:
        return await self.guarded.place_order(session, make_request(), "TAG")

    async def orders(self, account_id: AccountId = ACCOUNT) -> None:
        await self.guarded.orders(BrokerSession(account_id, "paper", "token-1"))


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


async def failing(gateway: Gateway, errors: list[OrderServiceError]) -> None:
    for error in errors:
        gateway.broker.fail_next("orders", error)
        with pytest.raises(type(error)):
            await gateway.orders()


class TestPacing:
    async def test_a_burst_past_the_budget_sleeps_its_turn(self, gateway: Gateway) -> None:
        for _ in range(11):
            await gateway.place()

        assert gateway.ticker.sleeps == [pytest.approx(1.05)]
        assert gateway.broker.calls["place_order"] == 11

    async def test_each_operation_draws_on_its_bucket(self) -> None:
        gateway = Gateway(max_wait=0.0)
        guarded = gateway.guarded
        resting = await guarded.place_order(SESSION, make_limit_request(), "TAG")
        for _ in range(8):
            await gateway.place()
        await guarded.modify_order(SESSION, Variety.REGULAR, resting, OrderChanges(quantity=5))
        await guarded.create_session(ACCOUNT, "paper", "secret", "request-token")
        await guarded.order_history(SESSION, resting)
        await guarded.cancel_order(SESSION, Variety.REGULAR, resting)
        for _ in range(7):
            await gateway.orders()

        with pytest.raises(RateLimitError) as orders_spent:
            await gateway.place()
        with pytest.raises(RateLimitError) as others_spent:
            await gateway.orders()

        assert orders_spent.value.details["bucket"] == Bucket.ORDERS.value
        assert others_spent.value.details["bucket"] == Bucket.OTHER.value
        assert gateway.ticker.sleeps == []

    async def test_candles_draw_on_the_historical_bucket_alone(self) -> None:
        gateway = Gateway(max_wait=0.0)
        ask = CandleRequest(408065, Interval.DAY, SPAN_START, SPAN_START)
        for _ in range(3):
            await gateway.guarded.historical(SESSION, ask)

        with pytest.raises(RateLimitError) as spent:
            await gateway.guarded.historical(SESSION, ask)

        assert spent.value.details["bucket"] == Bucket.HISTORICAL.value
        await gateway.orders()  # the other buckets untouched
        assert gateway.broker.calls["historical"] == 3

    async def test_a_slot_beyond_the_wait_limit_is_refused_unsent(self) -> None:
        gateway = Gateway(max_wait=0.5)
        for _ in range(10):
            await gateway.place()

        with pytest.raises(RateLimitError) as caught:
            await gateway.place()

        assert caught.value.retry_after == pytest.approx(1.05)
        assert caught.value.details["bucket"] == Bucket.ORDERS.value
        assert gateway.broker.calls["place_order"] == 10


class TestCircuitBreaker:
    async def test_infrastructure_failures_open_it(self, gateway: Gateway) -> None:
        await failing(gateway, [*INFRASTRUCTURE, BrokerUnavailable(), BrokerOutcomeUnknown()])

        with pytest.raises(BrokerUnavailable, match="circuit open") as caught:
            await gateway.place()

        assert caught.value.details["retry_after_seconds"] == pytest.approx(10.0)
        assert gateway.broker.calls["orders"] == 5
        assert gateway.broker.calls["place_order"] == 0
        await gateway.orders(OTHER)  # another account's circuit is its own

    async def test_market_data_failures_never_open_it_for_the_accounts_orders(
        self, gateway: Gateway
    ) -> None:
        guarded = gateway.guarded
        ask = CandleRequest(408065, Interval.DAY, SPAN_START, SPAN_START)
        for operation, read in (
            ("historical", lambda: guarded.historical(SESSION, ask)),
            ("quotes", lambda: guarded.quotes(SESSION, ["NSE:INFY"])),
        ):
            for _ in range(6):
                gateway.ticker.current += 1.0  # each in its own slot of the budget
                gateway.broker.fail_next(operation, BrokerUnavailable())
                with pytest.raises(BrokerUnavailable):
                    await read()

        await gateway.place()  # the breaker never heard of them

        assert gateway.broker.calls["place_order"] == 1

    async def test_refusals_never_open_it_and_reset_the_count(self, gateway: Gateway) -> None:
        await failing(gateway, [*REFUSALS, *REFUSALS])
        await failing(gateway, [BrokerUnavailable()] * 4 + [OrderRejected()])
        await failing(gateway, [BrokerUnavailable()] * 4)

        await gateway.orders()

        assert gateway.broker.calls["orders"] == 2 * len(REFUSALS) + 10

    async def test_after_the_cooldown_one_trial_closes_it(self, gateway: Gateway) -> None:
        await failing(gateway, [BrokerUnavailable()] * 5)
        gateway.ticker.current += 9.9
        with pytest.raises(BrokerUnavailable, match="circuit open"):
            await gateway.orders()
        gateway.ticker.current += 0.1

        await gateway.orders()
        await gateway.orders()

        assert gateway.broker.calls["orders"] == 7

    async def test_a_failed_trial_opens_it_again(self, gateway: Gateway) -> None:
        await failing(gateway, [BrokerUnavailable()] * 5)
        gateway.ticker.current += 10.0

        await failing(gateway, [BrokerOutcomeUnknown()])

        with pytest.raises(BrokerUnavailable, match="circuit open"):
            await gateway.orders()
        gateway.ticker.current += 10.0
        await gateway.orders()

    async def test_while_the_trial_runs_other_calls_fail_fast(self, gateway: Gateway) -> None:
        await failing(gateway, [BrokerUnavailable()] * 5)
        gateway.ticker.current += 10.0
        gateway.broker.hold = asyncio.Event()
        trial = asyncio.create_task(gateway.orders())
        await asyncio.sleep(0)

        with pytest.raises(BrokerUnavailable, match="circuit open"):
            await gateway.orders()
        gateway.broker.hold.set()
        await trial

        await gateway.orders()
        assert gateway.broker.calls["orders"] == 7

    async def test_a_trial_refused_by_the_budget_frees_the_slot(self) -> None:
        gateway = Gateway(max_wait=0.0)
        await failing(gateway, [BrokerUnavailable()] * 5)
        gateway.ticker.current += 10.0
        for _ in range(10):  # another process spends the account's budget meanwhile
            await gateway.budget.reserve(ACCOUNT, Bucket.OTHER, 0.0)
        with pytest.raises(RateLimitError):
            await gateway.orders()
        gateway.ticker.current += 1.05

        await gateway.orders()

        assert gateway.broker.calls["orders"] == 6


class TestTokenReload:
    async def test_a_newer_stored_token_is_tried_once(self, gateway: Gateway) -> None:
        gateway.broker.fail_next("place_order", AuthenticationError())
        gateway.stored = NEWER

        await gateway.place()

        assert gateway.broker.tokens_used == ["token-1", "token-2"]
        assert len(gateway.broker.book) == 1

    async def test_the_same_stored_token_is_not_retried(self, gateway: Gateway) -> None:
        gateway.broker.fail_next("place_order", AuthenticationError())

        with pytest.raises(AuthenticationError):
            await gateway.place()

        assert gateway.broker.tokens_used == ["token-1"]

    async def test_no_stored_session_is_not_retried(self, gateway: Gateway) -> None:
        gateway.broker.fail_next("orders", AuthenticationError())
        gateway.stored = None

        with pytest.raises(AuthenticationError):
            await gateway.orders()

        assert gateway.broker.calls["orders"] == 1

    async def test_the_retry_happens_once_only(self, gateway: Gateway) -> None:
        gateway.broker.fail_next("place_order", AuthenticationError())
        gateway.broker.fail_next("place_order", AuthenticationError())
        gateway.stored = NEWER

        with pytest.raises(AuthenticationError):
            await gateway.place()

        assert gateway.broker.tokens_used == ["token-1", "token-2"]


async def test_login_urls_pass_through_and_close_closes_both(gateway: Gateway) -> None:
    params = {"state": "s-1"}
    assert gateway.guarded.login_url("paper", params) == gateway.broker.login_url("paper", params)

    await gateway.guarded.close()

    assert gateway.broker.calls["close"] == 1
