"""Durability: a snapshot in `state_file` and a journal of changes beside it, replayed at start.

- `<state_file>` holds a snapshot, every record of the state (persistence.py), written to a
  temporary file, fsync'd and renamed over the old one. `<state_file>.journal` holds one JSON
  line per commit: the records that changed since the previous commit, numbered by `seq`.
- A commit runs after each request that may have changed something (every Kite call, the login
  steps, every admin call), after each tick of the market pump and of a ticker, before anything
  is answered. It appends with a single `write()`: once the kernel has the line, a `kill -9`
  or a SIGTERM that skips the shutdown loses nothing, and since the id counters travel in every
  line, no order, trade or GTT id is handed out twice.
- fsync runs once a second from the pump (on a worker thread, off the event loop) and on every
  snapshot, so an OS crash or a power cut may lose the last second, as SQLite in WAL mode with
  synchronous=NORMAL would. An fsync per commit would add about 150 µs (on the development
  machine's disk) to the about 300 µs of server time an order placement takes.
- At start: load the snapshot, apply the lines after its `seq` (an unterminated last line is a
  write cut short by a crash and is dropped), then write a new snapshot and empty the journal.
  The same compaction runs when the journal outgrows eight snapshots, at a new trading day (the
  rollover forgets orders, which lines of upserts cannot say), after an admin reset and at a
  clean shutdown. The journal is locked: a second broker on the same file refuses to start.

Why a journal: writing the whole state after each request costs in proportion to the day's
orders; SQLite would need the same change detection plus a table per kind of record; a line
is the snapshot's own format, one syscall to write and a dictionary update to replay.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from .broker import PaperBroker
from .changes import Tracker
from .errors import ConfigError, StorageError
from .persistence import encode, restore, snapshot, write_atomically

if sys.platform == "win32":  # pragma: no cover - the tests run on Linux
    import msvcrt

    def _lock_exclusively(fd: int) -> None:
        """Lock the journal's first byte for this process; PermissionError if another has it."""
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    _IN_USE: tuple[type[OSError], ...] = (PermissionError,)
else:
    import fcntl

    def _lock_exclusively(fd: int) -> None:
        """Lock the journal for this process; BlockingIOError if another process has it."""
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    _IN_USE = (BlockingIOError,)

JOURNAL_SUFFIX = ".journal"
MIN_COMPACTION_BYTES = 16 * 1024 * 1024
COMPACTION_RATIO = 8
# Journal lines are upserts of whole records, keyed so.
KEYS = {"orders": "order_id", "trades": "trade_id", "accounts": "user_id", "triggers": "trigger_id"}
UNREADABLE = (OSError, ValueError, KeyError, TypeError)

logger = logging.getLogger("paper_broker")


class Journal:
    """The durable copy of one running broker's state."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.log_path = path.with_name(path.name + JOURNAL_SUFFIX)
        self._fd = -1
        self._seq = 0
        self._size = 0
        self._limit = MIN_COMPACTION_BYTES
        self._unsynced = False
        self._tracker: Tracker | None = None

    def open(self, broker: PaperBroker) -> None:
        """Restore `broker` from the snapshot and the journal, then compact them."""
        self._lock()
        try:
            state, self._seq = _read(self.path, self.log_path, broker)
            if state is not None:
                restore(broker, state)
            self.snapshot(broker)
        except (*UNREADABLE, StorageError) as exc:
            self.close_file()
            raise ConfigError(f"cannot restore the state saved in {self.path}: {exc}") from exc

    def commit(self, broker: PaperBroker, force: bool = False) -> None:
        """Append what changed since the last commit (`force`: even if nothing did)."""
        tracker = self._tracker
        if tracker is None or tracker.is_stale(broker):
            self.snapshot(broker)
            return
        record = tracker.changes(force)
        if record is not None:
            self._append(record)

    def snapshot(self, broker: PaperBroker) -> None:
        """Write the whole state, then start an empty journal."""
        self._tracker = None
        state = snapshot(broker)
        state["seq"] = self._seq
        data = encode(state)
        try:
            write_atomically(self.path, data)
            os.ftruncate(self._fd, 0)
        except OSError as exc:
            raise StorageError(f"The paper broker could not write {self.path}.") from exc
        self._size, self._unsynced = 0, False
        self._limit = max(MIN_COMPACTION_BYTES, COMPACTION_RATIO * len(data))
        self._tracker = Tracker(broker)

    def compact_if_outgrown(self, broker: PaperBroker) -> None:
        if self._size > self._limit:
            self.snapshot(broker)

    def flush(self) -> None:
        """Put the appended lines on disk (blocking: the pump runs it on a worker thread)."""
        fd, self._unsynced = self._fd, False
        if fd < 0:
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            self._unsynced = True
            raise StorageError(f"The paper broker could not sync {self.log_path}.") from exc

    @property
    def is_flushed(self) -> bool:
        return not self._unsynced

    def close(self, broker: PaperBroker) -> None:
        """Leave one snapshot and an empty journal behind."""
        try:
            self.snapshot(broker)
        finally:
            self.close_file()

    def close_file(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _lock(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            _lock_exclusively(self._fd)
        except _IN_USE as exc:
            self.close_file()
            raise ConfigError(f"{self.path} is in use by another paper broker") from exc

    def _append(self, record: dict[str, Any]) -> None:
        record["seq"] = self._seq + 1
        line = encode(record) + b"\n"
        try:
            _write_all(self._fd, line)
        except OSError as exc:
            self._tracker = None  # the next commit writes a snapshot, with this change in it
            raise StorageError("The paper broker could not record the change.") from exc
        self._seq += 1
        self._size += len(line)
        self._unsynced = True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read(path: Path, log_path: Path, broker: PaperBroker) -> tuple[dict[str, Any] | None, int]:
    """The saved state with the journal applied, and the last `seq` in it."""
    lines = _lines(log_path)
    if not path.exists() and not lines:
        return None, 0
    # A journal whose snapshot was deleted still applies, to the state the broker starts with.
    source = path.read_bytes() if path.exists() else encode(snapshot(broker))
    state: dict[str, Any] = orjson.loads(source)
    seq = int(state.get("seq", 0))
    later = [line for line in lines if line["seq"] > seq]
    return merge(state, later), max([seq, *(line["seq"] for line in later)])


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    *complete, unfinished = path.read_bytes().split(b"\n")
    if unfinished:
        logger.warning("dropping the unfinished last line of %s", path)
    return [orjson.loads(line) for line in complete]


def merge(state: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply journal lines to a snapshot: keyed records are upserted, the others replaced."""
    tables = {name: {row[key]: row for row in state.get(name, [])} for name, key in KEYS.items()}
    for line in lines:
        for name, key in KEYS.items():
            tables[name].update((row[key], row) for row in line.pop(name, ()))
        state.update(line)
    state.update((name, list(rows.values())) for name, rows in tables.items())
    return state
