"""Settings: the only reader of the environment (ORDER_SERVICE_ prefix)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from order_service.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/order-service.db"
KITE_API_ROOT = "https://api.kite.trade"
KITE_LOGIN_URL = "https://kite.zerodha.com/connect/login"
KITE_TICKER_ROOT = "wss://ws.kite.trade"
_TICKER_SCHEMES = {"http": "ws", "https": "wss"}
SECRET_MIN_LENGTH = 32
# Secrets anyone can read are no secrets: our tests' values, and the words placeholders use.
_PUBLISHED_SECRETS = frozenset(
    {"test-jwt-secret-0123456789abcdef0123", "another-jwt-secret-0123456789abcdef0123"}
)
_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "secret", "password", "example")
_MIN_DISTINCT_CHARACTERS = 8  # "aaaa…" or "abab…" is long but guessable
# What the demo generates into its var dir (bootstrap.demo_secret and the demo's API key).
DEMO_SECRET_FILES = ("secret-key", "jwt-secret", "demo-api-key")


class Mode(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="ORDER_SERVICE_", extra="ignore")

    mode: Mode = Mode.DEMO
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # How long the API keeps an idle client connection open. Longer than a client's or a load
    # balancer's own idle expiry (httpx's is 5 s, AWS ALB's 60 s): if the server closed first,
    # a request sent on the connection as it closes would fail with a dropped connection.
    http_keep_alive_seconds: Annotated[int, Field(ge=1, le=3600)] = 75
    secret_key: SecretStr | None = None
    # Keys stored secrets may still be encrypted under (comma-separated): they decrypt, never
    # encrypt; `order-service secrets rotate` re-encrypts everything under SECRET_KEY.
    old_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    jwt_secret: SecretStr | None = None
    jwt_max_lifetime_seconds: Annotated[int, Field(ge=60, le=30 * 86_400)] = 86_400
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    kite_root: str | None = None
    kite_login_url: str | None = None
    kite_timeout_seconds: Annotated[float, Field(gt=0)] = 7.0
    kite_ticker_root: str | None = None
    paper_broker_port: Annotated[int, Field(ge=1, le=65535)] = 8001
    broker_threads: Annotated[int, Field(ge=1, le=256)] = 32
    max_body_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    unknown_grace_seconds: Annotated[float, Field(ge=0)] = 60.0
    sync_interval_seconds: Annotated[float, Field(gt=0)] = 1.0
    # With its order stream up, an account's whole order book (and trade book) is read this
    # often; in between only its orders without news for SYNC_POLL_AFTER_SECONDS are read, one
    # order_history each, using at most this share of the account's other-call budget per pass.
    sync_book_interval_seconds: Annotated[float, Field(gt=0)] = 30.0
    sync_poll_after_seconds: Annotated[float, Field(gt=0)] = 5.0
    sync_poll_budget_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    trade_sync_interval_seconds: Annotated[float, Field(gt=0)] = 2.0
    # Orders changed this recently have their fills synced even once they are settled.
    trade_sync_recent_seconds: Annotated[float, Field(gt=0)] = 3600.0
    # Books: how long a quote marks positions before it is read again (Kite allows one quote
    # request a second), the longest date range a P&L or trades query may span (a tax year
    # fits), and how often the broker's positions are compared with ours.
    quote_cache_seconds: Annotated[float, Field(gt=0)] = 5.0
    books_max_days: Annotated[int, Field(ge=1, le=3660)] = 400
    position_sync_interval_seconds: Annotated[float, Field(gt=0)] = 60.0
    # Exit attribution (README "Exit attribution"): how often settled external orders are
    # attributed to the strategies they closed.
    attribution_interval_seconds: Annotated[float, Field(gt=0)] = 2.0
    # A directory of charge schedules (one TOML file each) replacing the packaged ones.
    charges_dir: str | None = None
    # How long a placement waits for an account's startup reconciliation before it is refused.
    reconcile_wait_seconds: Annotated[float, Field(ge=0, le=30)] = 3.0
    # Pre-trade risk (README "Pre-trade risk"): the default limits of every account where
    # neither it nor the strategy sets one (unset: no limit), the fat-finger distance of a
    # LIMIT price from the last price (equity), market hours (None: checked in production
    # mode only, as the paper broker trades around the clock), and the duplicate-order window
    # for orders placed without an idempotency key (0: off).
    risk_max_order_value: Annotated[Decimal | None, Field(ge=0, allow_inf_nan=False)] = None
    risk_max_quantity: Annotated[int | None, Field(ge=0)] = None
    risk_max_open_orders: Annotated[int | None, Field(ge=0)] = None
    risk_max_orders_per_day: Annotated[int | None, Field(ge=0)] = None
    risk_allowed_exchanges: frozenset[str] | None = None
    risk_allowed_products: frozenset[str] | None = None
    risk_fat_finger_percent: Annotated[Decimal | None, Field(gt=0, allow_inf_nan=False)] = Decimal(
        10
    )
    risk_market_hours: bool | None = None
    risk_market_calendar_file: str | None = None
    risk_duplicate_window_seconds: Annotated[float, Field(ge=0)] = 2.0
    # Whether an account's owner (not only an admin) may change its and its strategies' limits.
    risk_owners_may_set_limits: bool = False
    log_level: str = "INFO"
    log_json: bool = True
    var_dir: str = "./var"
    rate_orders_per_second: Annotated[int, Field(ge=1)] = 10
    rate_orders_per_minute: Annotated[int, Field(ge=1)] = 400
    rate_orders_per_day: Annotated[int, Field(ge=1)] = 5000
    rate_other_per_second: Annotated[int, Field(ge=1)] = 10
    rate_quotes_per_second: Annotated[int, Field(ge=1)] = 1
    rate_historical_per_second: Annotated[int, Field(ge=1)] = 3
    rate_margin_seconds: Annotated[float, Field(ge=0, le=1)] = 0.05
    rate_max_wait_seconds: Annotated[float, Field(ge=0)] = 5.0
    breaker_failures: Annotated[int, Field(ge=1)] = 5
    breaker_cooldown_seconds: Annotated[float, Field(gt=0)] = 10.0
    # A worker that crashes more than this many times within the window is marked failed.
    worker_max_crashes: Annotated[int, Field(ge=0)] = 5
    worker_crash_window_seconds: Annotated[float, Field(gt=0)] = 300.0
    worker_backoff_seconds: Annotated[float, Field(gt=0)] = 0.5
    worker_backoff_max_seconds: Annotated[float, Field(gt=0)] = 30.0
    # On SIGTERM each worker finishes the pass under way, for at most this long.
    worker_stop_grace_seconds: Annotated[float, Field(gt=0)] = 10.0
    # A handoff whose orders are not all settled this long after it was asked for fails (its
    # scope gets its mode back); a new request with "force" may settle it from then on.
    handoff_timeout_seconds: Annotated[float, Field(gt=0)] = 300.0
    # A flatten reads back each order whose cancel it asked for, and an emergency stop the
    # account's book for each order whose send has no known outcome, for at most this long,
    # until the broker shows them settled.
    cancel_confirm_seconds: Annotated[float, Field(ge=0, le=60)] = 3.0
    # Worker processes sharing the accounts (PostgreSQL or Redis): a lease lasts LEASE_TTL in
    # the store, is renewed every LEASE_RENEW, and counts as ours until LEASE_MARGIN before it
    # lapses by our own clock. A dead process's accounts move within TTL + RENEW (8 s).
    lease_ttl_seconds: Annotated[float, Field(gt=0, le=60)] = 6.0
    lease_renew_seconds: Annotated[float, Field(gt=0)] = 2.0
    lease_margin_seconds: Annotated[float, Field(ge=0)] = 1.0
    # Every process's heartbeat (in the database): a dead process is known within the expiry.
    heartbeat_interval_seconds: Annotated[float, Field(gt=0)] = 1.0
    heartbeat_expiry_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    # The first and the longest pause (with jitter) before a dropped ticker reconnects.
    ticker_backoff_seconds: Annotated[float, Field(gt=0)] = 1.0
    ticker_backoff_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    # The event stream: a heartbeat comment this often (and a read of the feed at the latest),
    # how many events a client may lag before it is disconnected (it resumes by its last id),
    # and how long one write to a client may block before it is disconnected.
    events_heartbeat_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0
    events_queue_size: Annotated[int, Field(ge=1, le=100_000)] = 1000
    events_send_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    # Webhooks: receivers on private, loopback or link-local addresses are refused unless this
    # is set (unset: allowed in demo, refused in production, where URLs must also be https).
    webhook_allow_private: bool | None = None
    # An order (or basket) without an idempotency key is refused: a retry of it after a lost
    # answer would be a second order. None: required in production, optional in demo.
    require_idempotency_key: bool | None = None
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    webhook_max_response_bytes: Annotated[int, Field(ge=0, le=1024 * 1024)] = 64 * 1024
    # A failed delivery is retried after RETRY_INITIAL, doubling (with jitter) up to RETRY_MAX,
    # until its first attempt is RETRY_WINDOW old: then it fails and the endpoint is disabled.
    webhook_retry_initial_seconds: Annotated[float, Field(gt=0)] = 5.0
    webhook_retry_max_seconds: Annotated[float, Field(gt=0)] = 3600.0
    webhook_retry_window_seconds: Annotated[float, Field(gt=0)] = 86_400.0
    # A receiver that fails this many times in a row is not called for the cooldown.
    webhook_breaker_failures: Annotated[int, Field(ge=1)] = 5
    webhook_breaker_cooldown_seconds: Annotated[float, Field(gt=0)] = 60.0

    @model_validator(mode="after")
    def _renewed_within_expiry(self) -> Settings:
        if self.lease_renew_seconds >= self.lease_ttl_seconds - self.lease_margin_seconds:
            raise ValueError("lease_renew_seconds must be below lease_ttl - lease_margin")
        if self.heartbeat_interval_seconds >= self.heartbeat_expiry_seconds:
            raise ValueError("heartbeat_interval_seconds must be below heartbeat_expiry")
        return self

    @field_validator("old_secret_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("database_url must be sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @property
    def uses_postgres(self) -> bool:
        """True on PostgreSQL, the database several processes may share (SQLite is for one)."""
        return self.database_url.startswith("postgresql")

    @property
    def broker_root(self) -> str:
        """Return the Kite REST root: the paper broker in demo mode, Kite in production."""
        if self.kite_root:
            return self.kite_root.rstrip("/")
        if self.mode is Mode.PRODUCTION:
            return KITE_API_ROOT
        return f"http://127.0.0.1:{self.paper_broker_port}"

    @field_validator("kite_ticker_root")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("kite_ticker_root must be a ws:// or wss:// URL")
        return value

    @property
    def broker_ticker_root(self) -> str:
        """Return the ticker WebSocket root: Kite's beside Kite's REST root, else the REST host's.

        The paper broker serves its ticker at its own root (``http://host:port`` → ``ws://host:port``).
        """
        if self.kite_ticker_root:
            return self.kite_ticker_root.rstrip("/")
        if self.broker_root == KITE_API_ROOT:
            return KITE_TICKER_ROOT
        scheme, _, rest = self.broker_root.partition("://")
        return f"{_TICKER_SCHEMES.get(scheme, scheme)}://{rest}"

    @property
    def idempotency_key_required(self) -> bool:
        """Return whether a placement must carry an idempotency key (production's default)."""
        if self.require_idempotency_key is not None:
            return self.require_idempotency_key
        return self.mode is Mode.PRODUCTION

    @property
    def webhooks_allow_private(self) -> bool:
        """Return whether webhook receivers may be private addresses (the demo's default)."""
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return self.mode is Mode.DEMO

    @property
    def broker_login_url(self) -> str:
        if self.kite_login_url:
            return self.kite_login_url
        if self.mode is Mode.PRODUCTION and not self.kite_root:
            return KITE_LOGIN_URL
        return f"{self.broker_root}/connect/login"

    def require_production_secrets(self) -> None:
        """Refuse to start in production without real secrets: long, unpublished, not the demo's."""
        if self.mode is not Mode.PRODUCTION:
            return
        configured = {"SECRET_KEY": self.secret_key, "JWT_SECRET": self.jwt_secret}
        demo_values = _demo_values(Path(self.var_dir))
        problems = [
            f"ORDER_SERVICE_{name} {problem}"
            for name, value in configured.items()
            if (problem := _secret_problem(value, demo_values))
        ]
        values = [value.get_secret_value().strip() for value in configured.values() if value]
        if not problems and len(set(values)) < len(values):
            problems.append("ORDER_SERVICE_SECRET_KEY and ORDER_SERVICE_JWT_SECRET are the same")
        if problems:
            raise ConfigurationError("production mode refuses to start: " + "; ".join(problems))


def _secret_problem(secret: SecretStr | None, demo_values: frozenset[str]) -> str | None:
    """Say what is wrong with a production secret (never its value), or None."""
    value = secret.get_secret_value().strip() if secret is not None else ""
    if not value:
        return "is missing"
    if len(value) < SECRET_MIN_LENGTH:
        return f"is shorter than {SECRET_MIN_LENGTH} characters"
    lowered = value.lower()
    if value in _PUBLISHED_SECRETS or lowered.startswith("test-"):
        return "is a published test value"
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return "looks like a placeholder"
    if len(set(value)) < _MIN_DISTINCT_CHARACTERS:
        return "repeats too few characters to be random"
    if value in demo_values:
        return "is the demo's generated value"
    return None


def _demo_values(var_dir: Path) -> frozenset[str]:
    """Read what the demo generated, so production never reuses a secret left on disk."""
    values = set()
    for name in DEMO_SECRET_FILES:
        path = var_dir / name
        try:
            values.add(path.read_text().strip())
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path} to compare secrets: {exc}") from exc
    return frozenset(values)


def load_settings(**overrides: object) -> Settings:
    """Read the environment (overrides win); a bad value is a ``ConfigurationError``."""
    from pydantic import ValidationError as PydanticValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except PydanticValidationError as exc:
        # Name each variable and what is wrong, never the value: it may be a secret.
        problems = "; ".join(
            f"ORDER_SERVICE_{'.'.join(map(str, item['loc'])).upper()}: {item['msg']}"
            for item in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from exc
