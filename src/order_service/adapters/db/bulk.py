"""Many rows in one statement: the rows reach the database at once, and one statement uses them.

A statement with a bound parameter per value is compiled and bound value by value, which for
ten thousand orders costs more than the database's own work. Two ways avoid that:

- ``json_rows``: the rows travel as one JSON document that the database unpacks. PostgreSQL
  unpacks it with ``json_to_recordset`` (typed by the target columns; ``json``, not ``jsonb``,
  whose full parse of ten thousand rows cost more than the statement's own work), SQLite with
  ``json_each``/``json_extract``.
- ``staging``: for a SQLite file, the rows go into a temporary table of the connection with
  the driver's own ``executemany`` (values bound in C, no JSON to parse again per column),
  and the statement reads that table: about three times faster than ``json_each`` there.

Values are encoded as each engine stores them: decimals as their exact text, instants as
SQLite's text or as ISO 8601 with the offset, JSON values as the engine's JSON text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    ColumnElement,
    FromClause,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import JSON, TypeEngine

from order_service.adapters.db.engine import json_default
from order_service.adapters.db.repositories import translated_errors
from order_service.adapters.db.runners import StatementRunner
from order_service.adapters.db.types import ExactDecimal, UtcDateTime
from order_service.errors import ConfigurationError

POSITION = "position"  # each row's place in the document, to keep their order where it counts
Field = tuple[str, TypeEngine[Any]]


def fields_of(*columns: Column[Any]) -> list[Field]:
    """Return the document fields that carry these columns' values, under the same names."""
    return [(c.name, c.type) for c in columns]


def json_rows(
    dialect: str, fields: Sequence[Field], rows: Sequence[Mapping[str, Any]]
) -> FromClause:
    """Return the rows as a selectable ``v`` with one typed column per field, and ``position``."""
    document = _document(dialect, fields, rows)
    every = [*fields, (POSITION, Integer())]
    if dialect == "postgresql":
        parameter = cast(bindparam("rows", document, type_=Text), postgresql.JSON)
        columns = [column(name, type_) for name, type_ in every]
        recordset = func.json_to_recordset(parameter).table_valued(*columns)
        return recordset.render_derived(name="v", with_types=True)
    if dialect == "sqlite":
        each = func.json_each(bindparam("rows", document, type_=Text)).table_valued("value")
        values = [func.json_extract(each.c.value, f"$.{name}").label(name) for name, _ in every]
        return select(*values).select_from(each).subquery("v")
    raise ConfigurationError(f"unsupported database dialect {dialect}")


def among(dialect: str, key: ColumnElement[str], values: Collection[str]) -> ColumnElement[bool]:
    """Return ``key IN values`` with the values as one parameter, however many there are.

    An expanding ``IN`` binds, compiles and (on PostgreSQL) prepares a statement per number of
    keys, which for thousands of keys costs more than the lookup: PostgreSQL gets one array
    (``= ANY``), SQLite one JSON document of the keys (``json_each``).
    """
    keys = sorted(set(values))
    if dialect == "postgresql":
        return key == any_(bindparam("keys", keys, type_=postgresql.ARRAY(Text)))
    if dialect == "sqlite":
        document = orjson.dumps(keys).decode()
        each = func.json_each(bindparam("keys", document, type_=Text)).table_valued("value")
        return key.in_(select(each.c.value))
    raise ConfigurationError(f"unsupported database dialect {dialect}")


def insert_or_ignore_from(
    dialect: str, table: Table, names: Sequence[str], rows: Select[Any]
) -> Insert:
    """Return an INSERT of ``rows`` that leaves out each row whose key a stored row holds."""
    if dialect == "postgresql":
        return postgresql.insert(table).from_select(names, rows).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).from_select(names, rows).on_conflict_do_nothing()
    raise ConfigurationError(f"unsupported database dialect {dialect}")


async def rows_for_statement(
    runner: StatementRunner, fields: Sequence[Field], rows: Sequence[Mapping[str, Any]]
) -> FromClause:
    """Return the rows as a selectable ``v`` for one statement of the runner's transaction:
    staged in a temporary table on SQLite, one JSON document on PostgreSQL."""
    dialect = runner.dialect_name
    if dialect != "sqlite":
        return json_rows(dialect, fields, rows)
    staged = staging(fields, rows)
    with translated_errors():
        await runner.run_sql(staged.create)
        await runner.run_sql(staged.empty)
        await runner.run_sql(staged.insert, staged.rows)
    return staged.table.alias("v")


async def insert_all(
    runner: StatementRunner,
    table: Table,
    columns: Sequence[Column[Any]],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Insert the rows in their order (an autoincrement key follows it) in one statement: the
    driver's own ``executemany`` of the INSERT on SQLite (no table to stage them in first),
    one JSON document on PostgreSQL."""
    fields = fields_of(*columns)
    names = tuple(column.name for column in columns)
    with translated_errors():
        if runner.dialect_name == "sqlite":
            encoded = _encoded("sqlite", fields, rows, for_driver=True, positions=False)
            await runner.run_sql(_sqlite_insert(table, names), list(map(tuple, encoded)))
            return
        source = json_rows(runner.dialect_name, fields, rows)
        chosen = select(*(source.c[name] for name in names)).order_by(source.c[POSITION])
        await runner.run(insert(table).from_select(names, chosen))


@lru_cache(maxsize=16)
def _sqlite_insert(table: Table, names: tuple[str, ...]) -> str:
    """The INSERT of one row of ``names``, its ``?`` marks in the order of ``names``."""
    compiled = insert(table).compile(dialect=sqlite.dialect(paramstyle="qmark"), column_keys=names)
    if tuple(compiled.positiontup or ()) != names:
        raise ConfigurationError(f"insert_all: give the columns of {table.name} in table order")
    return str(compiled)


@dataclass(frozen=True, slots=True)
class Staging:
    """Rows for a SQLite temporary table: the table to read them from, and how to fill it."""

    table: Table
    create: str
    empty: str
    insert: str
    rows: list[tuple[Any, ...]]


def staging(fields: Sequence[Field], rows: Sequence[Mapping[str, Any]]) -> Staging:
    """Return the rows encoded for SQLite, and the temporary table (one per field list) that
    holds them; emptied before each use, so one table serves every statement in turn."""
    table, create, empty, insert_rows = _staging_table(tuple(name for name, _ in fields))
    encoded = list(map(tuple, _encoded("sqlite", fields, rows, for_driver=True)))
    return Staging(table, create, empty, insert_rows, encoded)


@lru_cache(maxsize=64)
def _staging_table(names: tuple[str, ...]) -> tuple[Table, str, str, str]:
    """The temporary table for a field list, named after it, and its SQL (create, empty, fill).

    BLOB columns, which SQLite gives no affinity: it stores what is bound, and the target
    table's columns convert it as they would a parameter. The fill's ``?`` marks are in
    column order, as the rows are.
    """
    digest = hashlib.sha256(",".join(names).encode()).hexdigest()[:12]
    columns = [Column(name, LargeBinary()) for name in (*names, POSITION)]
    table = Table(f"staged_{digest}", MetaData(), *columns, prefixes=["TEMPORARY"])
    dialect = sqlite.dialect(paramstyle="qmark")
    return (
        table,
        str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)),
        str(delete(table).compile(dialect=dialect)),
        str(insert(table).compile(dialect=dialect)),
    )


def _document(dialect: str, fields: Sequence[Field], rows: Sequence[Mapping[str, Any]]) -> str:
    """Return the rows as JSON; decimals become their exact text (``json_default``), instants
    the text each engine reads as that instant."""
    names = [*(name for name, _ in fields), POSITION]
    encoded = [dict(zip(names, values, strict=True)) for values in _encoded(dialect, fields, rows)]
    # orjson: the same JSON as ``dumps_json`` writes, several times faster on 10,000 rows.
    return _json_text(encoded)


def _encoded(
    dialect: str,
    fields: Sequence[Field],
    rows: Sequence[Mapping[str, Any]],
    *,
    for_driver: bool = False,
    positions: bool = True,
) -> list[list[Any]]:
    """Return each row's values in field order, then (``positions``) its position.

    Instants become the text the engine reads as that instant; decimals are refused unless
    finite. ``for_driver``: values the driver binds as they are (decimals as their exact
    text, JSON values as the engine's JSON text), for rows that no JSON document carries.
    """
    instant = _instant_encoder(dialect)
    names = [name for name, _ in fields]
    instants = [i for i, (_, type_) in enumerate(fields) if isinstance(type_, UtcDateTime)]
    decimals = [i for i, (_, type_) in enumerate(fields) if isinstance(type_, ExactDecimal)]
    documents = [i for i, (_, type_) in enumerate(fields) if for_driver and isinstance(type_, JSON)]
    # One pass's rows share a few instants (an order's change and its events, every fill of a
    # pass): each distinct instant is encoded once.
    encoded_instants: dict[datetime, str] = {}
    encoded = []
    for position, row in enumerate(rows):
        values = [row[name] for name in names]
        for i in instants:
            value = values[i]
            if value is not None:
                text = encoded_instants.get(value)
                if text is None or value.tzinfo is not UTC:
                    text = encoded_instants[value] = instant(value)
                values[i] = text
        for i in decimals:
            value = values[i]
            if value is not None and not value.is_finite():
                raise ValueError(f"{names[i]} is not a finite number: {value}")
            if for_driver and value is not None:
                values[i] = str(value)
        for i in documents:
            values[i] = _json_text(values[i])
        if positions:
            values.append(position)
        encoded.append(values)
    return encoded


def _json_text(value: Any) -> str:
    """``dumps_json``'s text (compact, decimals and instants as text), written by orjson."""
    return orjson.dumps(value, default=json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _instant_encoder(dialect: str) -> Callable[[datetime], str]:
    """Return how an instant is written: as SQLAlchemy stores it on SQLite, or ISO 8601."""
    if dialect == "sqlite":
        return _sqlite_instant
    return _iso_instant


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware instant")
    return value.astimezone(UTC)


def _sqlite_instant(value: datetime) -> str:
    # SQLAlchemy's SQLite storage format: naive UTC, always with microseconds (the text up to
    # the "+00:00" offset, which costs less than a naive copy of the instant).
    return _utc(value).isoformat(" ", "microseconds")[:26]


def _iso_instant(value: datetime) -> str:
    return _utc(value).isoformat()
