"""Every metric object of the service (prefix order_service_, bounded labels only)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ERRORS = Counter("order_service_errors_total", "Errors raised, by code", ["code"])
ORDERS = Counter("order_service_orders_total", "Placement requests, by outcome", ["outcome"])
ORDER_LATENCY = Histogram(
    "order_service_order_latency_seconds",
    "Time spent placing an order, by stage",
    ["stage"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 7.5),
)
BROKER_REQUESTS = Counter(
    "order_service_broker_requests_total",
    "Broker calls, by operation and outcome",
    ["operation", "outcome"],
)
BROKER_LATENCY = Histogram(
    "order_service_broker_latency_seconds",
    "Broker call latency, by operation",
    ["operation"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 7.5),
)
RATE_LIMIT_WAIT = Histogram(
    "order_service_rate_limit_wait_seconds",
    "Time a broker call waited for its account's rate budget, by bucket",
    ["bucket"],
    buckets=(0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
BROKER_SESSION_EXPIRED = Counter(
    "order_service_broker_session_expired_total", "Broker sessions found expired"
)
ACCOUNTS_LOGIN_REQUIRED = Gauge(
    "order_service_accounts_login_required", "Accounts whose broker session needs a login"
)
ORDERS_UNKNOWN = Gauge("order_service_orders_unknown", "Orders whose placement outcome is unknown")
ORDER_UNKNOWN_AGE = Gauge(
    "order_service_order_unknown_age_seconds",
    "How long the oldest unknown-outcome order has waited",
)
RECONCILIATION_DRIFT = Counter(
    "order_service_reconciliation_drift_total", "Differences found by reconciliation", ["kind"]
)
BROKER_ROWS_UNREADABLE = Counter(
    "order_service_broker_rows_unreadable_total",
    "Rows of a broker book or history that could not be parsed and were left out, by operation",
    ["operation"],
)
UNMAPPED_STATUSES = Counter(
    "order_service_unmapped_broker_statuses_total", "Broker statuses we could not map"
)
SYNC_READS = Counter(
    "order_service_sync_reads_total",
    "Broker reads made by the order sync: whole order books, or one order's history",
    ["kind"],
)
WORKER_CRASHES = Counter(
    "order_service_worker_crashes_total", "Unexpected worker crashes", ["worker"]
)
WORKER_UP = Gauge("order_service_worker_up", "1 while the worker runs", ["worker"])
WORKER_LAST_SUCCESS = Gauge(
    "order_service_worker_last_success_timestamp_seconds",
    "When the worker last completed a pass",
    ["worker"],
)
POSTBACKS = Counter(
    "order_service_postbacks_total", "Broker postbacks received, by outcome", ["outcome"]
)
SIGNALS = Counter(
    "order_service_signals_total",
    "Alerts received with a live signal token, by outcome (placed, repeat, or the error code)",
    ["outcome"],
)
ORDER_UPDATES = Counter(
    "order_service_order_updates_total",
    "Order updates pushed by the broker, by channel (ticker, postback) and outcome",
    ["channel", "outcome"],
)
TICKER_CONNECTIONS = Gauge(
    "order_service_ticker_connections", "Open ticker connections (one per streaming account)"
)
TICKER_RECONNECTS = Counter(
    "order_service_ticker_reconnects_total", "Ticker reconnection attempts after a drop"
)
LEASES_HELD = Gauge(
    "order_service_leases_held", "Account leases this process holds (its share of the work)"
)
LEASE_CHANGES = Counter(
    "order_service_lease_changes_total",
    "Account leases acquired, lost (expired or taken), released, or refused by their fence",
    ["change"],
)
EMERGENCY_STOPS = Counter(
    "order_service_emergency_stops_total",
    "Emergency stops of an account (every working order cancelled, every scope MANUAL)",
)
EXIT_ATTRIBUTIONS = Counter(
    "order_service_exit_attributions_total",
    "Settled external orders attributed to the strategies whose position they closed, by"
    " policy (manual: a case opened for a person)",
    ["policy"],
)
STALE_WRITES_REFUSED = Counter(
    "order_service_stale_writes_refused_total",
    "Worker commits refused because the account's lease had moved to a newer token",
)
WEBHOOK_DELIVERIES = Counter(
    "order_service_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (succeeded, retrying, failed)",
    ["outcome"],
)
WEBHOOK_DELIVERIES_QUEUED = Counter(
    "order_service_webhook_deliveries_queued_total", "Webhook deliveries made from the event log"
)
WEBHOOKS_DISABLED = Counter(
    "order_service_webhooks_disabled_total",
    "Webhooks disabled after their deliveries failed for the whole retry window",
)
EVENT_STREAM_CLIENTS = Gauge(
    "order_service_event_stream_clients", "Clients connected to the order event stream"
)
EVENT_STREAM_DISCONNECTS = Counter(
    "order_service_event_stream_disconnects_total",
    "Stream clients disconnected by us, by reason (lagging, slow)",
    ["reason"],
)
KILL_SWITCH_ENGAGED = Gauge(
    "order_service_kill_switch_engaged",
    "Kill-switch halts in force, by scope (account, user, all), as this process last read them",
    ["scope"],
)
