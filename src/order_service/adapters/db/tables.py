"""The schema as SQLAlchemy Core tables; migrations are generated from it and reviewed by hand."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    text,
    true,
)

from order_service.adapters.db.types import ExactDecimal, UtcDateTime
from order_service.domain.status import OrderStatus

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
CLIENT_ORDER_ID_CONSTRAINT = "uq_orders_account_id_client_order_id"
BROKER_ORDER_CONSTRAINT = "uq_orders_account_id_broker_order_id"

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ULID = String(26)
ACCOUNT_ID = String(32)
ENUM_TEXT = String(32)  # enums are stored by value so a new member needs no migration

users = Table(
    "users",
    metadata,
    Column("user_id", ULID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("roles", String(200), nullable=False),  # comma-separated Role values
    Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ULID, primary_key=True),
    Column("user_id", ULID, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    # Set for a script's key: its orders go to this strategy (SCRIPT), and only to it.
    Column("strategy_id", ULID, ForeignKey("strategies.strategy_id"), nullable=True),
    Index(None, "user_id"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", ACCOUNT_ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("api_key", String(200), nullable=False),
    Column("api_secret_encrypted", String(), nullable=False),
    Column("access_token_encrypted", String(), nullable=True),
    Column("token_expires_at", UtcDateTime(), nullable=True),
    Column("session_state", ENUM_TEXT, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Removed accounts keep their row (their orders' history refers to them); they are hidden.
    Column("removed_at", UtcDateTime(), nullable=True),
    # Set while the account's books await reconciliation with the broker (no new orders).
    Column("reconcile_since", UtcDateTime(), nullable=True),
    # Who trades the account scope (DESIGN.md section 7); written only by a handoff.
    Column("control_mode", ENUM_TEXT, nullable=False, server_default="manual"),
)

# No foreign key to users: a grant may name a user that lives in the peer user service.
user_accounts = Table(
    "user_accounts",
    metadata,
    Column("user_id", ULID, primary_key=True),
    Column(
        "account_id",
        ACCOUNT_ID,
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index(None, "account_id"),
)

strategies = Table(
    "strategies",
    metadata,
    Column("strategy_id", ULID, primary_key=True),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("archived_at", UtcDateTime(), nullable=True),  # takes no new orders
    # A deleted strategy keeps its row (its orders and fills refer to it), hidden.
    Column("deleted_at", UtcDateTime(), nullable=True),
    # Set by a handoff of the strategy's scope; NULL until then (see domain/control.py).
    Column("control_mode", ENUM_TEXT, nullable=True),
)
# Partial unique indexes: at most one default per account (made idempotently with the account,
# whoever gets there first), and a name is taken only by a strategy that is not deleted.
Index(
    "uq_strategies_one_default_per_account",
    strategies.c.account_id,
    unique=True,
    sqlite_where=strategies.c.is_default == true(),
    postgresql_where=strategies.c.is_default == true(),
)
Index(
    "uq_strategies_live_name_per_account",
    strategies.c.account_id,
    strategies.c.name,
    unique=True,
    sqlite_where=strategies.c.deleted_at.is_(None),
    postgresql_where=strategies.c.deleted_at.is_(None),
)

# Named groups of strategies across accounts. A user's belongs to its owner; an account's
# default portfolio has no owner and names its account in ``default_for`` (unique: one each).
portfolios = Table(
    "portfolios",
    metadata,
    Column("portfolio_id", ULID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner_id", ULID, nullable=True),  # no FK: users may live in the peer service
    Column(
        "default_for", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=True, unique=True
    ),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("archived_at", UtcDateTime(), nullable=True),
    UniqueConstraint("owner_id", "name"),
)

portfolio_strategies = Table(
    "portfolio_strategies",
    metadata,
    Column(
        "portfolio_id",
        ULID,
        ForeignKey("portfolios.portfolio_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("strategy_id", ULID, ForeignKey("strategies.strategy_id"), primary_key=True),
    Index(None, "strategy_id"),
)

# The statuses of an order that may still change (migration 0018 spells them out).
UNSETTLED = tuple(sorted(status.value for status in OrderStatus if not status.is_terminal))
_UNSETTLED = text(f"status IN ({', '.join(repr(value) for value in UNSETTLED)})")


def unsettled(status: Column[str]) -> ColumnElement[bool]:
    """``status`` among the unsettled statuses, written into the statement as literals: a
    prepared statement's generic plan can then still prove the partial indexes' predicate."""
    return status.in_(bindparam("unsettled", UNSETTLED, expanding=True, literal_execute=True))


orders = Table(
    "orders",
    metadata,
    Column("order_id", ULID, primary_key=True),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("client_order_id", String(), nullable=False),
    Column("request_fingerprint", String(64), nullable=False),
    # Our broker tag; NULL for an external order (one placed outside the service), so that no
    # order of ours can ever be matched to it.
    Column("tag", String(20), nullable=True, unique=True),
    Column("strategy_id", ULID, ForeignKey("strategies.strategy_id"), nullable=False),
    # Who placed it (no FK: users may live in the peer service); NULL for an external order.
    Column("user_id", ULID, nullable=True),
    # The OrderRequest, flattened.
    Column("exchange", ENUM_TEXT, nullable=False),
    Column("tradingsymbol", String(), nullable=False),
    Column("transaction_type", ENUM_TEXT, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("product", ENUM_TEXT, nullable=False),
    Column("order_type", ENUM_TEXT, nullable=False),
    Column("variety", ENUM_TEXT, nullable=False),
    Column("price", ExactDecimal(), nullable=True),
    Column("trigger_price", ExactDecimal(), nullable=True),
    Column("validity", ENUM_TEXT, nullable=False),
    Column("validity_ttl", Integer, nullable=True),
    Column("disclosed_quantity", Integer, nullable=True),
    Column("market_protection", ExactDecimal(), nullable=True),
    Column("request_tag", String(), nullable=True),
    Column("request_strategy_id", ULID, nullable=True),
    # What we know about the broker order.
    Column("status", ENUM_TEXT, nullable=False),
    Column("broker_order_id", String(64), nullable=True),
    Column("broker_status", String(), nullable=True),
    Column("status_message", String(), nullable=True),
    Column("exchange_order_id", String(64), nullable=True),
    Column("filled_quantity", Integer, nullable=False),
    Column("average_price", ExactDecimal(), nullable=True),
    Column("modification_count", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # "api" for orders placed through us, "external" for ones found at the broker without our tag.
    Column("source", ENUM_TEXT, nullable=False, server_default="api"),
    # The instance id of the process that placed the order (NULL for external orders).
    Column("placed_by", String(64), nullable=True),
    # "manual" (a person, or the broker's app for an external order) or "script" (a key bound
    # to a strategy): what the control modes of the scope will be checked against.
    Column("origin", ENUM_TEXT, nullable=False, server_default="manual"),
    Column("auction_number", String(16), nullable=True),  # an auction variety order's auction
    UniqueConstraint("account_id", "client_order_id", name=CLIENT_ORDER_ID_CONSTRAINT),
    # One broker order is at most one of our rows: re-seeing an external order never duplicates.
    UniqueConstraint("account_id", "broker_order_id", name=BROKER_ORDER_CONSTRAINT),
    Index(None, "account_id", "order_id"),  # one account's pages, newest first
    # The unsettled orders, of every account and of one (the syncs, the pre-trade count of
    # working orders). On PostgreSQL the index holds only them: an order that settles leaves
    # it, so the pass that settles ten thousand orders writes two index entries fewer each.
    Index(None, "status", postgresql_where=_UNSETTLED),
    Index(None, "account_id", "status", postgresql_where=_UNSETTLED),
    Index(None, "strategy_id"),
    Index(None, "account_id", "created_at"),  # the pre-trade count of the day's orders
)
# The external orders, the only ones whose exits are attributed: the attribution worker's
# search for settled ones not yet attributed reads these rows alone.
EXTERNAL_ORDER = text("source = 'external'")
Index(
    "ix_orders_external_created_at",
    orders.c.created_at,
    sqlite_where=EXTERNAL_ORDER,
    postgresql_where=EXTERNAL_ORDER,
)

order_events = Table(
    "order_events",
    metadata,
    # The event log's monotonic sequence; AUTOINCREMENT keeps SQLite from reusing a rowid.
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("order_id", ULID, ForeignKey("orders.order_id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("status_before", ENUM_TEXT, nullable=True),
    Column("status_after", ENUM_TEXT, nullable=False),
    Column("data", JSON, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index(None, "order_id"),
    sqlite_autoincrement=True,
)

# Pending broker logins: a one-time state (stored hashed) bound to a user and an account.
login_states = Table(
    "login_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column(
        "account_id",
        ACCOUNT_ID,
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", ULID, nullable=False),  # no FK: users may live in the peer service
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index(None, "account_id", "user_id"),
    Index(None, "expires_at"),
)

# The fill ledger: each execution of one of our orders, once (the broker's trade id is unique
# per account, so reading the trade book again stores nothing twice).
fills = Table(
    "fills",
    metadata,
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("trade_id", String(64), nullable=False),
    Column("order_id", ULID, ForeignKey("orders.order_id"), nullable=False),
    Column("broker_order_id", String(64), nullable=False),
    Column("strategy_id", ULID, ForeignKey("strategies.strategy_id"), nullable=False),
    Column("exchange", ENUM_TEXT, nullable=False),
    Column("tradingsymbol", String(), nullable=False),
    Column("product", ENUM_TEXT, nullable=False),
    Column("transaction_type", ENUM_TEXT, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", ExactDecimal(), nullable=False),
    Column("exchange_timestamp", UtcDateTime(), nullable=True),
    Column("source", ENUM_TEXT, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "trade_id"),
    Index(None, "order_id"),
    sqlite_autoincrement=True,
)

# What was found about an account as a whole (a position that disagrees with the broker's),
# in the order it was recorded.
account_events = Table(
    "account_events",
    metadata,
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index(None, "account_id"),
    sqlite_autoincrement=True,
)

HOLDER_ID = String(64)  # a process's instance id (``orders.placed_by`` holds the same ids)

# Per-account leases of the background work (order sync, trade sync, ticker, resolver). A row
# is kept once made, released or not, so the account's token only ever grows.
leases = Table(
    "leases",
    metadata,
    Column("account_id", ACCOUNT_ID, primary_key=True),
    Column("holder_id", HOLDER_ID, nullable=True),  # NULL once released
    Column("token", BigInteger, nullable=False),
    Column("acquired_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

# The worker processes sharing the leases, each until its announcement expires.
lease_holders = Table(
    "lease_holders",
    metadata,
    Column("holder_id", HOLDER_ID, primary_key=True),
    Column("expires_at", UtcDateTime(), nullable=False),
)

# The newest lease token each account has seen, whichever store granted it (database or
# Redis): a worker's commit under an older token is refused. No foreign key: a fence is
# coordination state, written inside the workers' own transactions.
lease_fences = Table(
    "lease_fences",
    metadata,
    Column("account_id", ACCOUNT_ID, primary_key=True),
    Column("token", BigInteger, nullable=False),
)

# Every live service process (API or worker) and its heartbeat, so an order a dead process
# was placing is settled at once.
service_instances = Table(
    "service_instances",
    metadata,
    Column("instance_id", HOLDER_ID, primary_key=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("beat_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index(None, "expires_at"),
)

# The feed's commit order on PostgreSQL: each order event's place, given by a deferred trigger
# (migration 0010) while the writing transaction commits, one transaction at a time, so a
# place is visible only once every lower one is visible or rolled back. Empty on SQLite, whose
# writes are serialized: there an event's sequence is its place.
order_event_positions = Table(
    "order_event_positions",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    # No foreign key: only the trigger writes a place, for an event its transaction inserted,
    # and events are never deleted (a key's check cost as much as the place's own insert).
    Column("sequence", BigInteger, nullable=False, unique=True),
)

# Users' webhook receivers; the signing secret is encrypted like the broker secrets. ``cursor``
# is the last feed sequence whose deliveries have been made (the event log is the outbox).
webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", ULID, primary_key=True),
    Column("user_id", ULID, nullable=False),  # no FK: users may live in the peer service
    Column("url", String(2048), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(500), nullable=False),
    Column("secret_encrypted", String(), nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime(), nullable=True),
    Column("disabled_reason", String(500), nullable=True),
    Index(None, "user_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", ULID, primary_key=True),
    Column(
        "webhook_id",
        ULID,
        ForeignKey("webhooks.webhook_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("sequence", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", String(), nullable=False),
    Column("status", ENUM_TEXT, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    UniqueConstraint("webhook_id", "sequence"),  # one delivery per event and endpoint
    Index(None, "status", "next_attempt_at"),
)

# What happened to an endpoint itself (disabled after a day of failures, enabled again by a
# manual retry): its owner reads it at GET /api/v1/webhooks/{id}/events.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", ULID, primary_key=True),
    Column(
        "webhook_id",
        ULID,
        ForeignKey("webhooks.webhook_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("type", String(64), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index(None, "webhook_id", "event_id"),
)

# The instrument master: the broker's instruments list as last loaded (replaced whole by each
# load), with the freeze quantities of the shipped limits; ``instrument_loads`` says when.
instruments = Table(
    "instruments",
    metadata,
    Column("exchange", String(16), primary_key=True),
    Column("tradingsymbol", String(64), primary_key=True),
    Column("instrument_token", BigInteger, nullable=False),
    Column("name", String(), nullable=False),
    Column("instrument_type", String(16), nullable=False),
    Column("segment", String(32), nullable=False),
    Column("tick_size", ExactDecimal(), nullable=False),
    Column("lot_size", Integer, nullable=False),
    Column("expiry", Date, nullable=True),
    Column("strike", ExactDecimal(), nullable=True),
    Column("freeze_quantity", Integer, nullable=True),
)

instrument_loads = Table(
    "instrument_loads",
    metadata,
    Column("load_id", Integer, primary_key=True),  # one row: the load in force
    Column("loaded_at", UtcDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
)

# Pre-trade limits of an account or of one strategy, each limit a JSON field (None: unset).
risk_limits = Table(
    "risk_limits",
    metadata,
    Column("scope", String(16), primary_key=True),  # account | strategy
    Column("scope_id", String(64), primary_key=True),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("limits", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", ULID, nullable=False),
)

# The kill switch: one row per engaged scope (kind + account or user id, empty for everything),
# and every engage and release as an audit event with who and when.
kill_switches = Table(
    "kill_switches",
    metadata,
    Column("scope_kind", ENUM_TEXT, primary_key=True),
    Column("scope_key", String(64), primary_key=True),
    Column("engaged_by", String(64), nullable=False),
    Column("engaged_at", UtcDateTime(), nullable=False),
    Column("by_admin", Boolean, nullable=False),
)

kill_switch_events = Table(
    "kill_switch_events",
    metadata,
    Column(
        "sequence",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("scope_kind", ENUM_TEXT, nullable=False),
    Column("scope_key", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # engaged or released
    Column("user_id", String(64), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("flatten", Boolean, nullable=False),
    sqlite_autoincrement=True,
)

# Handoffs of control (domain/handoff.py). ``scope_key`` is the strategy's id, or "" for the
# account scope, so that the partial unique index allows one unfinished handoff per scope.
handoffs = Table(
    "handoffs",
    metadata,
    Column("handoff_id", ULID, primary_key=True),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("strategy_id", ULID, ForeignKey("strategies.strategy_id"), nullable=True),
    Column("scope_key", String(26), nullable=False),
    Column("trigger", ENUM_TEXT, nullable=False),
    Column("from_mode", ENUM_TEXT, nullable=False),
    Column("target_mode", ENUM_TEXT, nullable=False),
    Column("status", ENUM_TEXT, nullable=False),
    Column("force", Boolean, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("failure", String(), nullable=True),
    Column("steps", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("deadline", UtcDateTime(), nullable=False),
)
UNFINISHED_HANDOFF = handoffs.c.status.in_(["PENDING", "CANCELLING"])
Index(
    "uq_handoffs_one_unfinished_per_scope",
    handoffs.c.account_id,
    handoffs.c.scope_key,
    unique=True,
    sqlite_where=UNFINISHED_HANDOFF,
    postgresql_where=UNFINISHED_HANDOFF,
)

# The newest scope-lock token (Redis, when configured) each account's control modes were
# written under: a request whose lock expired and was taken again cannot write after the newer
# holder (a fencing token checked on write).
scope_fences = Table(
    "scope_fences",
    metadata,
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), primary_key=True),
    Column("token", BigInteger, nullable=False),
)

# A strategy's signal tokens: the secret's hash (the secret is shown once) and the order template
# its alerts fill in.
signal_tokens = Table(
    "signal_tokens",
    metadata,
    Column("token_id", ULID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("strategy_id", ULID, ForeignKey("strategies.strategy_id"), nullable=False),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("user_id", ULID, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    Column("template", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index(None, "strategy_id"),
)

# Each settled external order's attribution to the strategies whose position it closed (one
# row per order); those of the manual policy are the cases a person resolves. Holders and
# allocations are JSON lists.
exit_attributions = Table(
    "exit_attributions",
    metadata,
    Column("attribution_id", ULID, primary_key=True),
    Column("account_id", ACCOUNT_ID, ForeignKey("accounts.account_id"), nullable=False),
    Column("order_id", ULID, ForeignKey("orders.order_id"), nullable=False, unique=True),
    Column("exchange", ENUM_TEXT, nullable=False),
    Column("tradingsymbol", String(), nullable=False),
    Column("product", ENUM_TEXT, nullable=False),
    Column("transaction_type", ENUM_TEXT, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("default_strategy_id", ULID, ForeignKey("strategies.strategy_id"), nullable=False),
    Column("holders", JSON, nullable=False),
    Column("policy", ENUM_TEXT, nullable=False),
    Column("status", ENUM_TEXT, nullable=False),
    Column("reason", String(), nullable=True),
    Column("allocations", JSON, nullable=False),
    # The trade ids of the exit's fills it covers (NULL: every fill of its exit).
    Column("trade_ids", JSON, nullable=True),
    Column("assignee", ULID, nullable=True),
    Column("resolved_by", ULID, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("applied_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
    Index(None, "account_id", "status"),
)

# The share of an attributed fill each strategy takes (a fill not named here is its order's
# strategy's whole). Written once, when its attribution is applied; never changed.
fill_allocations = Table(
    "fill_allocations",
    metadata,
    Column(
        "allocation_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("account_id", ACCOUNT_ID, nullable=False),
    Column("trade_id", String(64), nullable=False),
    Column(
        "attribution_id",
        ULID,
        ForeignKey("exit_attributions.attribution_id"),
        nullable=False,
    ),
    Column("strategy_id", ULID, ForeignKey("strategies.strategy_id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    ForeignKeyConstraint(
        ["account_id", "trade_id"],
        ["fills.account_id", "fills.trade_id"],
        name="fk_fill_allocations_account_id_fills",
    ),
    UniqueConstraint("account_id", "trade_id", "strategy_id"),
    Index(None, "attribution_id"),
    sqlite_autoincrement=True,
)
