"""Composition root: picks the adapters from Settings and returns the services bundle."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from order_service.config import Settings
from order_service.domain.budget import Bucket, BudgetRules, Window
from order_service.domain.risk import RiskLimits
from order_service.domain.webhook import RetryPolicy
from order_service.errors import ServiceUnavailableError
from order_service.observability.halts import record_halts
from order_service.services.accounts import AccountService
from order_service.services.amendments import AmendmentService
from order_service.services.attribution import ExitAttributionService
from order_service.services.baskets import BasketService
from order_service.services.books import BooksService
from order_service.services.cancellations import CancelConfirmation, Cancellations
from order_service.services.emergency_stops import EmergencyStopService
from order_service.services.event_stream import FeedBroadcaster, StreamPolicy
from order_service.services.fencing import fence_raiser
from order_service.services.flattening import FlattenService
from order_service.services.handoffs import HandoffService
from order_service.services.history import HistoryService
from order_service.services.instruments import InstrumentService
from order_service.services.kill_switch import KillSwitchService
from order_service.services.leases import LeaseKeeper, LeasePolicy, every_account
from order_service.services.liveness import Liveness, SharedLiveness, SoloLiveness
from order_service.services.logins import LoginService
from order_service.services.market_data import MarketDataService
from order_service.services.marks import MarkBoard
from order_service.services.order_feed import OrderFeedService
from order_service.services.order_updates import OrderUpdateService
from order_service.services.orders import OrderService
from order_service.services.ownership import Ownership, OwnEveryAccount
from order_service.services.polling import PollingService, PollPolicy
from order_service.services.portfolios import PortfolioService
from order_service.services.ports import (
    Broker,
    Clock,
    EventSignal,
    HaltSignal,
    LeaseStore,
    OrderStream,
    RateBudget,
    ScopeLocks,
    UnitOfWorkFactory,
    UserDirectory,
    WebhookSender,
)
from order_service.services.position_close import PositionCloseService
from order_service.services.position_sync import PositionSyncService
from order_service.services.postbacks import PostbackService
from order_service.services.previews import PreviewService
from order_service.services.reconcile import ReconcileService
from order_service.services.risk import LimitsCache, RiskGuard, RiskPolicy
from order_service.services.risk_limits import RiskLimitService
from order_service.services.risk_quotes import QuoteCache
from order_service.services.secrets import SecretService
from order_service.services.sessions import SessionExpiry
from order_service.services.signals import SignalService
from order_service.services.startup import ReconciliationGate, StartupReconciliation
from order_service.services.strategies import StrategyService
from order_service.services.streams import StreamHealth
from order_service.services.trades import TradeSyncService
from order_service.services.users import UserService
from order_service.services.webhook_delivery import DeliveryPolicy, WebhookDispatcher
from order_service.services.webhooks import WebhookService
from order_service.services.writes import OrderWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

Probe = Callable[[], Awaitable[bool]]
Closer = Callable[[], Awaitable[None]]


class SystemClock:
    """Wall-clock time, always timezone-aware (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def new_instance_id() -> str:
    """A fresh id for this process, recorded on the orders it places."""
    return secrets.token_hex(8)


@dataclass
class Services:
    """Everything the entrypoints use, built once per process."""

    settings: Settings
    orders: OrderService
    amendments: AmendmentService
    baskets: BasketService
    accounts: AccountService
    previews: PreviewService
    market_data: MarketDataService
    history: HistoryService
    users: UserService
    strategies: StrategyService
    portfolios: PortfolioService
    reconcile: ReconcileService
    trades: TradeSyncService
    position_sync: PositionSyncService
    attribution: ExitAttributionService
    books: BooksService
    startup: StartupReconciliation
    postbacks: PostbackService
    order_updates: OrderUpdateService
    order_stream: OrderStream
    logins: LoginService
    directory: UserDirectory
    broker: Broker
    clock: Clock
    database_ready: Probe
    polling: PollingService
    # Events out: the feed, this process's live stream, webhooks and their delivery.
    feed: OrderFeedService
    broadcaster: FeedBroadcaster
    webhooks: WebhookService
    dispatcher: WebhookDispatcher
    event_signal: EventSignal
    instruments: InstrumentService
    risk_limits: RiskLimitService
    emergency_stops: EmergencyStopService
    handoffs: HandoffService
    cancellations: Cancellations
    kill_switch: KillSwitchService
    secrets: SecretService
    flattening: FlattenService
    position_closes: PositionCloseService
    signals: SignalService
    # Whose background work is this process's, which processes live, which streams are up.
    ownership: Ownership = field(default_factory=OwnEveryAccount)
    liveness: Liveness = field(default_factory=lambda: SoloLiveness(new_instance_id()))
    streams: StreamHealth = field(default_factory=StreamHealth)
    closers: list[Closer] = field(default_factory=list)
    # The lease keeper when worker processes share the accounts (it is also ``ownership``).
    leases: LeaseKeeper | None = None

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer()


@dataclass(frozen=True)
class Outbound:
    """How events leave: the wake-ups of their readers, and the webhook sender."""

    signal: EventSignal
    sender: WebhookSender


@dataclass(frozen=True)
class Coordination:
    """How this process stands among the others: its liveness and the accounts it owns."""

    liveness: Liveness
    ownership: Ownership
    leases: LeaseKeeper | None = None
    closers: tuple[Closer, ...] = ()

    @classmethod
    def alone(cls) -> Coordination:
        """One process with a private store (tests' fakes): it owns every account."""
        return cls(SoloLiveness(new_instance_id()), OwnEveryAccount())


def bootstrap(
    settings: Settings,
    *,
    uow_factory: UnitOfWorkFactory | None = None,
    broker: Broker | None = None,
    clock: Clock | None = None,
    directory: UserDirectory | None = None,
    database_ready: Probe | None = None,
    order_stream: OrderStream | None = None,
    coordination: Coordination | None = None,
    event_signal: EventSignal | None = None,
    webhook_sender: WebhookSender | None = None,
) -> Services:
    """Build the services; tests pass fakes for any port, production uses the real adapters."""
    settings.require_production_secrets()
    clock = clock or SystemClock()
    closers: list[Closer] = []
    if uow_factory is None:  # a real database, which other processes may share
        event_signal = event_signal or _event_signal(settings)
        uow_factory, database_ready, close_db = _sql(settings, event_signal.notify)
        closers.append(close_db)
        coordination = coordination or _coordinated(settings, uow_factory)
    coordination = coordination or Coordination.alone()
    outbound = Outbound(
        event_signal or _in_process_signal(), webhook_sender or _webhook_sender(settings)
    )
    closers.extend((outbound.signal.close, outbound.sender.close))
    if broker is None:
        broker = _guarded(settings, _kite(settings), uow_factory, clock)
    broker = SessionExpiry(broker, OrderWriter(uow_factory, clock).expire_session)
    closers.append(broker.close)
    closers.extend(coordination.closers)
    directory = directory or _directory(settings, uow_factory, clock)
    order_stream = order_stream or _ticker(settings)
    services = _services(
        settings, uow_factory, broker, clock, directory, order_stream, coordination, outbound
    )
    closers.extend(
        (services.broadcaster.close, services.kill_switch.close, services.handoffs.close)
    )
    return replace(services, database_ready=database_ready or _always_ready, closers=closers)


def _services(
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    broker: Broker,
    clock: Clock,
    directory: UserDirectory,
    order_stream: OrderStream,
    coordination: Coordination,
    outbound: Outbound,
) -> Services:
    liveness = coordination.liveness
    gate = ReconciliationGate(uow_factory, timedelta(seconds=settings.reconcile_wait_seconds))
    instruments = _instruments(uow_factory, broker, clock)
    limits_cache = LimitsCache()
    books = _books(settings, uow_factory, broker, clock)
    risk = _risk(settings, broker, clock, instruments, limits_cache, books)
    kill_switch = KillSwitchService(uow_factory, clock, record_halts, _halt_signal(settings))
    orders = OrderService(
        uow_factory, broker, clock, gate, liveness, instruments, risk, kill_switch
    )
    reconcile = ReconcileService(
        uow_factory,
        broker,
        clock,
        timedelta(seconds=settings.unknown_grace_seconds),
        request_window=timedelta(seconds=_request_window(settings)),
        liveness=liveness,
    )
    recent = timedelta(seconds=settings.trade_sync_recent_seconds)
    trades = TradeSyncService(uow_factory, broker, clock, recent, instruments)
    startup = StartupReconciliation(uow_factory, reconcile, trades, clock)
    feed = OrderFeedService(uow_factory)
    stream_policy = StreamPolicy(settings.events_queue_size, settings.events_heartbeat_seconds)
    amendments = AmendmentService(uow_factory, broker, clock, risk, kill_switch)
    order_updates = OrderUpdateService(uow_factory, broker, clock, trades)
    confirmation = CancelConfirmation.within(settings.cancel_confirm_seconds)
    flattening = FlattenService(
        uow_factory, amendments, orders, books, broker, order_updates, clock, confirmation,
        asyncio.sleep,
    )  # fmt: skip
    stops = EmergencyStopService(
        uow_factory, amendments, clock, reconcile, confirmation, asyncio.sleep, liveness, broker
    )
    return Services(
        settings=settings,
        orders=orders,
        baskets=BasketService(orders),
        amendments=amendments,
        accounts=AccountService(uow_factory, broker, clock),
        previews=PreviewService(uow_factory, broker, clock, instruments),
        market_data=MarketDataService(
            uow_factory, broker, clock, settings.quote_cache_seconds, instruments
        ),
        history=HistoryService(uow_factory, broker, clock, instruments),
        users=UserService(uow_factory, clock),
        strategies=StrategyService(uow_factory, clock),
        signals=SignalService(uow_factory, clock, orders),
        portfolios=PortfolioService(uow_factory, clock),
        reconcile=reconcile,
        trades=trades,
        position_sync=PositionSyncService(uow_factory, broker, clock),
        attribution=ExitAttributionService(uow_factory, clock),
        books=books,
        startup=startup,
        postbacks=PostbackService(uow_factory, broker, clock),
        order_updates=order_updates,
        order_stream=order_stream,
        logins=LoginService(uow_factory, broker, clock, startup, instruments),
        directory=directory,
        broker=broker,
        clock=clock,
        database_ready=_always_ready,
        polling=_polling(settings, uow_factory, broker, clock, liveness),
        feed=feed,
        broadcaster=FeedBroadcaster(feed, outbound.signal, stream_policy),
        webhooks=WebhookService(uow_factory, outbound.sender, clock),
        dispatcher=WebhookDispatcher(
            uow_factory, outbound.sender, clock, _delivery_policy(settings)
        ),
        event_signal=outbound.signal,
        instruments=instruments,
        risk_limits=RiskLimitService(
            uow_factory, clock, settings.risk_owners_may_set_limits, limits_cache
        ),
        emergency_stops=stops,
        handoffs=HandoffService(
            uow_factory, amendments, clock, settings.handoff_timeout_seconds, _scope_locks(settings)
        ),
        cancellations=Cancellations(uow_factory, amendments),
        kill_switch=kill_switch,
        secrets=SecretService(uow_factory),
        flattening=flattening,
        position_closes=PositionCloseService(uow_factory, orders, books, broker, clock),
        liveness=liveness,
        ownership=coordination.ownership,
        leases=coordination.leases,
    )


def _halt_signal(settings: Settings) -> HaltSignal | None:
    """The kill switch's cross-process fast path: Redis when configured (the database alone
    otherwise, its 0.5 s refresh keeping the one-second bound)."""
    if not settings.redis_url:
        return None
    from order_service.adapters.coordination.halts_redis import RedisHaltSignal

    return RedisHaltSignal(settings.redis_url)


def _delivery_policy(settings: Settings) -> DeliveryPolicy:
    retry = RetryPolicy(
        timedelta(seconds=settings.webhook_retry_initial_seconds),
        timedelta(seconds=settings.webhook_retry_max_seconds),
        timedelta(seconds=settings.webhook_retry_window_seconds),
    )
    # A claimed delivery comes back if its sender died: after its attempt's longest time.
    claim_for = timedelta(seconds=settings.webhook_timeout_seconds * 3 + REQUEST_SLACK_SECONDS)
    return DeliveryPolicy(retry, claim_for)


def _event_signal(settings: Settings) -> EventSignal:
    """LISTEN/NOTIFY on PostgreSQL (every process hears every commit), else in-process."""
    if settings.uses_postgres:
        from order_service.adapters.db.notifications import PostgresEventSignal

        return PostgresEventSignal(settings.database_url)
    return _in_process_signal()


def _in_process_signal() -> EventSignal:
    from order_service.adapters.coordination.signals import InProcessEventSignal

    return InProcessEventSignal()


def _webhook_sender(settings: Settings) -> WebhookSender:
    from order_service.adapters.http.client import CircuitPolicy, PeerClient
    from order_service.adapters.http.safety import UrlPolicy
    from order_service.adapters.http.webhook_sender import SERVICE, HttpWebhookSender

    circuit = CircuitPolicy(
        settings.webhook_breaker_failures, settings.webhook_breaker_cooldown_seconds
    )
    client = PeerClient(SERVICE, circuit, max_body=settings.webhook_max_response_bytes)
    production = settings.mode.value == "production"
    policy = UrlPolicy(require_https=production, allow_private=settings.webhooks_allow_private)
    return HttpWebhookSender(client, policy, settings.webhook_timeout_seconds)


def _instruments(uow_factory: UnitOfWorkFactory, broker: Broker, clock: Clock) -> InstrumentService:
    from order_service.adapters.freeze_file import load_freeze_limits

    return InstrumentService(uow_factory, broker, clock, load_freeze_limits())


def _risk(
    settings: Settings,
    broker: Broker,
    clock: Clock,
    instruments: InstrumentService,
    limits_cache: LimitsCache,
    books: BooksService,
) -> RiskGuard:
    from order_service.adapters.calendar_file import load_market_calendar

    market_hours = settings.risk_market_hours
    if market_hours is None:
        market_hours = settings.mode.value == "production"
    calendar_file = settings.risk_market_calendar_file
    calendar = load_market_calendar(Path(calendar_file) if calendar_file else None)
    window = settings.risk_duplicate_window_seconds
    policy = RiskPolicy(
        defaults=RiskLimits.create(
            max_order_value=settings.risk_max_order_value,
            max_quantity=settings.risk_max_quantity,
            max_open_orders=settings.risk_max_open_orders,
            max_orders_per_day=settings.risk_max_orders_per_day,
            allowed_exchanges=settings.risk_allowed_exchanges,
            allowed_products=settings.risk_allowed_products,
        ),
        fat_finger_percent=settings.risk_fat_finger_percent,
        calendar=calendar if market_hours else None,
        duplicate_window=timedelta(seconds=window) if window > 0 else None,
    )
    quotes = QuoteCache(broker, settings.quote_cache_seconds)
    return RiskGuard(policy, clock, quotes, instruments, limits_cache, books)


def _books(
    settings: Settings, uow_factory: UnitOfWorkFactory, broker: Broker, clock: Clock
) -> BooksService:
    from order_service.adapters.charges_file import load_charge_schedules

    directory = Path(settings.charges_dir) if settings.charges_dir else None
    marks = MarkBoard(broker, clock, settings.quote_cache_seconds)
    schedules = load_charge_schedules(directory)
    return BooksService(uow_factory, broker, clock, schedules, marks, settings.books_max_days)


# A placement may send twice (one retry after a token reload), each send bounded by the SDK's
# timeout; the slack covers our own work around the sends.
SENDS_PER_PLACEMENT = 2
REQUEST_SLACK_SECONDS = 5.0


def _request_window(settings: Settings) -> float:
    """How long a placing request can live: its budget wait, its sends, and slack."""
    sends = settings.kite_timeout_seconds * SENDS_PER_PLACEMENT
    return settings.rate_max_wait_seconds + sends + REQUEST_SLACK_SECONDS


def _polling(
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    broker: Broker,
    clock: Clock,
    liveness: Liveness,
) -> PollingService:
    """The order sync's targeted polls, within their share of each account's budget."""
    per_second = settings.sync_poll_budget_share * settings.rate_other_per_second
    grace = settings.unknown_grace_seconds
    policy = PollPolicy(
        stale_after=timedelta(seconds=settings.sync_poll_after_seconds),
        per_pass=max(1, int(per_second * settings.sync_interval_seconds)),
        unknown_grace=timedelta(seconds=grace),
        # As long as reconciliation leaves a NEW or SUBMITTING order to its request.
        in_flight=timedelta(seconds=max(grace, _request_window(settings))),
    )
    return PollingService(uow_factory, broker, clock, policy, liveness)


async def _always_ready() -> bool:
    return True


def _coordinated(settings: Settings, uow_factory: UnitOfWorkFactory) -> Coordination:
    """Heartbeats in the database, so every process knows which others live; leases when
    several worker processes may share the accounts (PostgreSQL or Redis)."""
    from order_service.adapters.db.coordination import coordination_engine
    from order_service.adapters.db.liveness_repository import SqlInstanceRegistry

    engine = coordination_engine(settings.database_url)
    instance_id = new_instance_id()
    liveness = SharedLiveness(
        SqlInstanceRegistry(engine),
        instance_id,
        interval=settings.heartbeat_interval_seconds,
        expiry=settings.heartbeat_expiry_seconds,
    )
    store = _lease_store(settings, engine)
    if store is None:  # SQLite: one worker process, which owns every account
        return Coordination(liveness, OwnEveryAccount(), closers=(engine.dispose,))
    policy = LeasePolicy(
        settings.lease_ttl_seconds, settings.lease_renew_seconds, settings.lease_margin_seconds
    )
    keeper = LeaseKeeper(
        store, instance_id, every_account(uow_factory), fence_raiser(uow_factory), policy
    )
    return Coordination(liveness, keeper, keeper, (engine.dispose, store.close, _releasing(keeper)))


def _scope_locks(settings: Settings) -> ScopeLocks | None:
    """The handoff requests' scope locks in Redis when it is configured; else the database's
    row locks alone serialize them (``lock_scope``)."""
    if not settings.redis_url:
        return None
    from order_service.adapters.coordination.scope_locks_redis import RedisScopeLocks

    return RedisScopeLocks(settings.redis_url)


def _lease_store(settings: Settings, engine: AsyncEngine) -> LeaseStore | None:
    """Redis when it is configured, else the database on PostgreSQL; None on SQLite."""
    if settings.redis_url:
        from order_service.adapters.coordination.leases_redis import RedisLeaseStore

        return RedisLeaseStore(settings.redis_url)
    if settings.uses_postgres:
        from order_service.adapters.db.leases_repository import SqlLeaseStore

        return SqlLeaseStore(engine)
    return None


def _releasing(keeper: LeaseKeeper) -> Closer:
    async def release() -> None:
        try:
            await keeper.release_all()
        except ServiceUnavailableError:  # the store is down: the leases lapse by their TTL
            return

    return release


def _sql(
    settings: Settings, after_commit: Callable[[], None]
) -> tuple[UnitOfWorkFactory, Probe, Closer]:
    from order_service.adapters.db.crypto import SecretCipher
    from order_service.adapters.db.engine import create_engine
    from order_service.adapters.db.health import database_ready
    from order_service.adapters.db.unit_of_work import sql_uow_factory

    engine = create_engine(settings.database_url)
    old = [key.get_secret_value() for key in settings.old_secret_keys]
    cipher = SecretCipher(_secret(settings), old)

    factory = sql_uow_factory(engine, cipher, after_commit)

    async def probe() -> bool:
        return await database_ready(engine)

    async def close() -> None:
        await factory.close()
        await engine.dispose()

    return factory, probe, close


def _secret(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return demo_secret(settings.var_dir, "secret-key")


def _ticker(settings: Settings) -> OrderStream:
    from order_service.adapters.broker.ticker import KiteOrderStream

    return KiteOrderStream(settings.broker_ticker_root, settings.kite_timeout_seconds)


def _kite(settings: Settings) -> Broker:
    from order_service.adapters.broker.kite import KiteBroker

    return KiteBroker(
        settings.broker_root,
        settings.broker_login_url,
        settings.kite_timeout_seconds,
        settings.broker_threads,
    )


def _guarded(
    settings: Settings, broker: Broker, uow_factory: UnitOfWorkFactory, clock: Clock
) -> Broker:
    """Put the accounts' rate budgets, circuit breakers and token reload in front of ``broker``."""
    from order_service.adapters.coordination.metered import MeteredRateBudget
    from order_service.services.access import stored_sessions
    from order_service.services.gateway import GatewayPolicy, GuardedBroker

    policy = GatewayPolicy(
        settings.rate_max_wait_seconds,
        settings.breaker_failures,
        settings.breaker_cooldown_seconds,
    )
    budget = MeteredRateBudget(_rate_budget(settings))
    return GuardedBroker(broker, budget, stored_sessions(uow_factory, clock), policy)


def budget_rules(settings: Settings) -> BudgetRules:
    """Each account's rate windows (Kite's, KITE.md section 7, unless configured otherwise)."""
    return BudgetRules(
        {
            Bucket.ORDERS: (
                Window(settings.rate_orders_per_second, 1.0),
                Window(settings.rate_orders_per_minute, 60.0),
                Window(settings.rate_orders_per_day, 86_400.0),
            ),
            Bucket.OTHER: (Window(settings.rate_other_per_second, 1.0),),
            Bucket.QUOTES: (Window(settings.rate_quotes_per_second, 1.0),),
            Bucket.HISTORICAL: (Window(settings.rate_historical_per_second, 1.0),),
        },
        settings.rate_margin_seconds,
    )


def _rate_budget(settings: Settings) -> RateBudget:
    """Shared through Redis when it is configured, else this process's own."""
    rules = budget_rules(settings)
    if settings.redis_url:
        from order_service.adapters.coordination.redis import RedisRateBudget

        return RedisRateBudget(settings.redis_url, rules)
    from order_service.adapters.coordination.memory import InProcessRateBudget

    return InProcessRateBudget(rules)


def _directory(settings: Settings, uow_factory: UnitOfWorkFactory, clock: Clock) -> UserDirectory:
    from order_service.adapters.users.local import LocalUserDirectory, TokenRules

    jwt_secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    if jwt_secret is None and settings.mode.value == "demo":
        jwt_secret = demo_secret(settings.var_dir, "jwt-secret")
    rules = TokenRules(
        jwt_secret,
        timedelta(seconds=settings.jwt_max_lifetime_seconds),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return LocalUserDirectory(uow_factory, rules, clock)


def demo_secret(var_dir: str, name: str) -> str:
    """Return the demo secret in ``var_dir/name``, generating it (mode 0600) on first use."""
    path = Path(var_dir) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
