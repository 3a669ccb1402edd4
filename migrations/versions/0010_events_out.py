"""The feed's commit order, webhook endpoints and their deliveries.

On PostgreSQL a sequence value is taken when a row is inserted, not when its transaction
commits: a reader that passed sequence 6 (committed) could later see 5 commit and skip it. So
each order event gets its place in the feed while its transaction commits: a statement
trigger stages the sequences each INSERT stored in a temporary table of the session, and a
deferred constraint trigger (queued once per transaction, for its first event) takes one
transaction-level advisory lock, held until the commit is visible, and numbers the staged
events from a second sequence in one statement. Places are therefore handed out in commit
order, and a place is visible only after every lower one is (or was rolled back, leaving a
gap that nothing can fill later). The temporary table needs a session per connection (no
transaction-mode connection pooler in front of PostgreSQL). The events already stored keep their
sequence as their place. A statement trigger also sends ``NOTIFY order_service_events``, which
PostgreSQL delivers at commit, to wake the feed's readers in every process.

SQLite serializes writers, so there an event's sequence is its place and no trigger is needed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
ULID = sa.String(length=26)
ENUM_TEXT = sa.String(length=32)
# The advisory lock key of the feed's commit order ("events" in ASCII, as one bigint).
LOCK_KEY = 111_118_101_110_116

_POSTGRES_UP = [
    "CREATE SEQUENCE order_event_position_seq",
    "INSERT INTO order_event_positions (position, sequence) SELECT sequence, sequence"
    " FROM order_events",
    "SELECT setval('order_event_position_seq', GREATEST((SELECT max(sequence) FROM order_events),"
    " (SELECT last_value FROM order_events_sequence_seq)))",
    # Each statement that stores events stages their sequences in a temporary table of the
    # session (transactional: a rolled-back statement's rows go with it) and notifies.
    """
    CREATE FUNCTION order_events_stage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF to_regclass('pg_temp.order_events_committing') IS NULL THEN
            CREATE TEMPORARY TABLE order_events_committing (sequence bigint NOT NULL)
            ON COMMIT DELETE ROWS;
        END IF;
        INSERT INTO order_events_committing (sequence) SELECT sequence FROM inserted;
        PERFORM pg_notify('order_service_events', '');
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER order_events_stage AFTER INSERT ON order_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION order_events_stage()
    """,
    # While the transaction commits, its first deferred call takes the lock (held until the
    # commit is visible) and places every staged event at once; the others find none left.
    f"""
    CREATE FUNCTION order_event_position() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM order_events_committing) THEN
            RETURN NULL;
        END IF;
        PERFORM pg_advisory_xact_lock({LOCK_KEY});
        INSERT INTO order_event_positions (position, sequence)
        SELECT nextval('order_event_position_seq'), staged.sequence
        FROM (SELECT sequence FROM order_events_committing ORDER BY sequence) AS staged;
        TRUNCATE order_events_committing;
        RETURN NULL;
    END $$
    """,  # noqa: S608 - LOCK_KEY is this module's constant, not input
    # One deferred call per transaction, not one per event: the condition holds for the
    # transaction's first event only (a setting local to it, undone with a rolled-back
    # savepoint, as the queued call is).
    """
    CREATE FUNCTION order_events_first_in_transaction() RETURNS boolean LANGUAGE sql AS $$
        SELECT CASE
            WHEN current_setting('order_service.events_placed_by', true)
                IS NOT DISTINCT FROM pg_current_xact_id()::text THEN false
            ELSE set_config('order_service.events_placed_by', pg_current_xact_id()::text, true)
                IS NOT NULL
        END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER order_events_position AFTER INSERT ON order_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (order_events_first_in_transaction())
    EXECUTE FUNCTION order_event_position()
    """,
]
_POSTGRES_DOWN = [
    "DROP TRIGGER order_events_stage ON order_events",
    "DROP FUNCTION order_events_stage()",
    "DROP TRIGGER order_events_position ON order_events",
    "DROP FUNCTION order_events_first_in_transaction()",
    "DROP FUNCTION order_event_position()",
    "DROP SEQUENCE order_event_position_seq",
]


def upgrade() -> None:
    op.create_table(
        "order_event_positions",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sequence"],
            ["order_events.sequence"],
            name=op.f("fk_order_event_positions_sequence_order_events"),
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_order_event_positions")),
        sa.UniqueConstraint("sequence", name=op.f("uq_order_event_positions_sequence")),
    )
    _webhooks()
    _deliveries()
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES_UP:
            op.execute(statement)


def _webhooks() -> None:
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", ULID, nullable=False),
        sa.Column("user_id", ULID, nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("secret_encrypted", sa.String(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("disabled_at", INSTANT, nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_user_id"), ["user_id"], unique=False)


def _deliveries() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", ULID, nullable=False),
        sa.Column("webhook_id", ULID, nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("status", ENUM_TEXT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", INSTANT, nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("delivered_at", INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.webhook_id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id", "sequence", name=op.f("uq_webhook_deliveries_webhook_id_sequence")
        ),
    )
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES_DOWN:
            op.execute(statement)
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_table("order_event_positions")
