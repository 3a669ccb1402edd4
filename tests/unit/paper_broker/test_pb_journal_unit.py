"""The journal: every commit survives a crash, replays at start, and never lets an id repeat."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from paper_broker.broker import PaperBroker
from paper_broker.config import PaperBrokerConfig
from paper_broker.errors import ConfigError, StorageError
from paper_broker.gtt_forms import parse_trigger
from paper_broker.journal import Journal
from paper_broker.prices import next_midnight
from paper_broker.routes.admin import describe
from paper_broker.validation import parse_place
from paper_broker.views import history_view
from tests.moments import PAPER_CLOCK_START

MARKET = {
    "exchange": "NSE",
    "tradingsymbol": "TCS",
    "transaction_type": "BUY",
    "quantity": "2",
    "product": "MIS",
    "order_type": "MARKET",
    "market_protection": "-1",
}
# Below the price but inside the day's band: it rests for as long as a test runs.
RESTING = {**MARKET, "order_type": "LIMIT", "price": "2900", "tag": "keep"}


def new_broker() -> PaperBroker:
    return PaperBroker(PaperBrokerConfig(seed=11, clock_start=PAPER_CLOCK_START))


def place(broker: PaperBroker, form: dict[str, str]) -> str:
    (order_id,) = broker.exchange.place("PAPER1", parse_place(form, "regular", broker.catalogue))
    return order_id


def log_in(broker: PaperBroker) -> str:
    sessions, user = broker.sessions, broker.sessions.users["PAPER1"]
    token = sessions.issue_request_token(user, broker.clock.timestamp())
    checksum = hashlib.sha256(f"{user.api_key}{token}{user.api_secret}".encode()).hexdigest()
    return sessions.exchange(user.api_key, token, checksum, broker.clock.now()).access_token


def add_trigger(broker: PaperBroker) -> int:
    condition = {"exchange": "NSE", "tradingsymbol": "INFY", "trigger_values": [1000]}
    leg = {**condition, "transaction_type": "BUY", "quantity": 1, "order_type": "LIMIT",
           "product": "CNC", "price": 1000}  # fmt: skip
    trigger = parse_trigger(
        {"type": "single", "condition": orjson.dumps(condition).decode(),
         "orders": orjson.dumps([leg]).decode()},
        broker.catalogue,
        lambda item: broker.market.walk(item, broker.clock.second()),
        ("PAPER1", broker.exchange.registry.ids.trigger_id(), 5),
        broker.clock.now(),
    )  # fmt: skip
    return broker.gtts.create(trigger)


def books(broker: PaperBroker) -> dict[str, Any]:
    """Everything a client can see of the state, the clock and the faults aside."""
    seen = describe(broker)
    for name in ("clock", "faults", "postbacks", "ticker"):
        del seen[name]
    registry = broker.exchange.registry
    seen["histories"] = {oid: history_view(order) for oid, order in registry.orders.items()}
    seen["sessions"] = sorted(broker.sessions.access)
    seen["ids"] = registry.ids
    return seen


def restarted(path: Path) -> PaperBroker:
    broker = new_broker()
    Journal(path).open(broker)
    return broker


def crash(journal: Journal) -> None:
    """What `kill -9` leaves: the file as written so far, no last snapshot."""
    journal.close_file()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "paper.json"


def test_every_commit_survives_a_crash(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    access_token = log_in(broker)
    journal.commit(broker)
    filled, resting, cancelled = (
        place(broker, MARKET),
        place(broker, RESTING),
        place(broker, RESTING),
    )
    journal.commit(broker)
    trigger_id = add_trigger(broker)
    journal.commit(broker)
    # An order already written changes later: the next line carries it again.
    broker.exchange.cancel("PAPER1", cancelled)
    journal.commit(broker)
    before = books(broker)
    crash(journal)

    after = restarted(path)

    assert books(after) == before
    assert access_token in after.sessions.access
    assert after.exchange.registry.orders[filled].status == "COMPLETE"
    assert after.exchange.registry.orders[cancelled].status == "CANCELLED"
    tcs = after.catalogue.by_key("NSE:TCS")
    assert tcs is not None
    assert resting in after.exchange.execution.books[tcs.instrument_token].orders
    assert after.gtts.get("PAPER1", trigger_id).status == "active"
    assert place(after, MARKET) not in {filled, resting, cancelled}


def test_a_restart_never_hands_out_an_id_twice(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    seen = {place(broker, MARKET)}
    journal.commit(broker)
    trades = {trade.trade_id for trade in broker.exchange.registry.trades["PAPER1"]}
    crash(journal)

    after = restarted(path)
    order_id = place(after, MARKET)

    assert order_id not in seen
    assert after.exchange.registry.order_trades[order_id][0].trade_id not in trades
    assert add_trigger(after) not in {
        trigger.trigger_id for trigger in broker.gtts.triggers.values()
    }


def test_a_commit_that_changed_nothing_writes_nothing(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    place(broker, MARKET)
    journal.commit(broker)
    size = journal.log_path.stat().st_size

    describe(broker)
    journal.commit(broker)

    assert size > 0
    assert journal.log_path.stat().st_size == size


def test_a_line_cut_short_by_a_crash_is_dropped(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    order_id = place(broker, MARKET)
    journal.commit(broker)
    before = books(broker)
    crash(journal)
    with journal.log_path.open("ab") as log:
        log.write(b'{"seq": 2, "orders": [{"order_id": "26')

    after = restarted(path)

    assert books(after) == before
    assert list(after.exchange.registry.orders) == [order_id]


def test_a_damaged_line_before_the_last_refuses_the_start(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    place(broker, MARKET)
    journal.commit(broker)
    crash(journal)
    with journal.log_path.open("ab") as log:
        log.write(b"not json\n" + journal.log_path.read_bytes())

    with pytest.raises(ConfigError, match="cannot restore"):
        restarted(path)


def test_lines_the_snapshot_already_holds_are_not_applied_again(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    order_id = place(broker, RESTING)
    journal.commit(broker)
    stale = journal.log_path.read_bytes()
    broker.exchange.cancel("PAPER1", order_id)
    journal.commit(broker)
    journal.snapshot(broker)
    crash(journal)
    # As if the journal had not been emptied when the snapshot was renamed into place.
    journal.log_path.write_bytes(stale)

    after = restarted(path)

    assert after.exchange.registry.orders[order_id].status == "CANCELLED"


def test_a_journal_whose_snapshot_was_deleted_still_applies(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    order_id = place(broker, MARKET)
    journal.commit(broker)
    crash(journal)
    path.unlink()

    after = restarted(path)

    assert list(after.exchange.registry.orders) == [order_id]
    assert place(after, MARKET) != order_id


def test_a_new_trading_day_is_written_as_a_snapshot(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    place(broker, RESTING)
    journal.commit(broker)
    now = broker.clock.second()
    broker.clock.advance(next_midnight(now) - now + 60)
    broker.exchange.sync()

    journal.commit(broker)

    assert journal.log_path.stat().st_size == 0
    assert orjson.loads(path.read_bytes())["day_end"] == broker.exchange.schedule.day_end
    crash(journal)
    assert books(restarted(path)) == books(broker)


def test_a_clean_close_leaves_one_snapshot_and_an_empty_journal(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    place(broker, MARKET)
    journal.commit(broker)

    journal.close(broker)

    assert journal.log_path.stat().st_size == 0
    assert books(restarted(path)) == books(broker)


def test_a_second_broker_cannot_open_the_same_state_file(path: Path) -> None:
    Journal(path).open(new_broker())

    with pytest.raises(ConfigError, match="in use by another paper broker"):
        Journal(path).open(new_broker())


def test_a_journal_that_cannot_be_written_fails_the_commit(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    journal.close_file()
    place(broker, MARKET)

    with pytest.raises(StorageError, match="could not record"):
        journal.commit(broker)


def test_a_forced_commit_records_prices_set_by_decree(path: Path) -> None:
    broker, journal = new_broker(), Journal(path)
    journal.open(broker)
    infy = broker.catalogue.by_key("NSE:INFY")
    assert infy is not None
    broker.market.set_price(infy, Decimal("1650"), broker.clock.second())

    journal.commit(broker)
    unforced = journal.log_path.stat().st_size
    journal.commit(broker, force=True)
    crash(journal)

    assert unforced == 0
    price = restarted(path).price("NSE:INFY")
    assert price is not None
    assert abs(price - Decimal("1650")) < Decimal("5")
