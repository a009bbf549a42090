"""The few statements every small request runs, executed straight on the driver's cursor.

SQLAlchemy spends ~100 us of CPU around each execution of even a cached statement (an execution context, result
metadata, Row objects), ten times what SQLite spends running it. A `PreparedRead` is a Core select that
SQLAlchemy compiles once per dialect; it then runs on the DBAPI cursor of the session's connection, inside the
session's transaction. Parameters and values go through the bind and result processors SQLAlchemy itself would
apply (SQLite's dates, booleans and JSON), driver errors are raised as SQLAlchemy's (so a locked or unreachable
database is answered like everywhere else), and rows are named tuples of the select's column keys.
"""

from __future__ import annotations

from collections import namedtuple
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]  # the values of the select's literal parameters
    positions: tuple[str, ...] | None  # parameter names in order, for positional paramstyles (SQLite's qmark)
    binds: dict[str, Callable]  # parameter name -> bind processor, where the dialect has one
    row: type  # the named tuple of the select's column keys
    results: tuple[tuple[int, Callable], ...] | None = None  # column index -> result processor; None: not yet known


class PreparedRead:
    def __init__(self, statement: Select):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}  # dialect name -> its compiled form

    def all(self, session: Session, params: dict[str, Any]) -> list:
        connection = session.connection()
        compiled = self._compiled.get(connection.dialect.name) or self._compile(connection.dialect)
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, _bound(compiled, params))
            rows = cursor.fetchall()
            results = compiled.results if compiled.results is not None else self._results(connection, cursor)
        except connection.dialect.loaded_dbapi.Error as error:
            if connection.dialect.is_disconnect(error, dbapi_connection, cursor):
                connection.invalidate(error)
            raise DBAPIError.instance(compiled.sql, params, error, connection.dialect.loaded_dbapi.Error) from error
        finally:
            cursor.close()
        return [compiled.row._make(_processed(row, results)) for row in rows]

    def first(self, session: Session, params: dict[str, Any]):
        rows = self.all(session, params)
        return rows[0] if rows else None

    def _compile(self, dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        binds = {name: processor for name, bind in compiled.binds.items()
                 if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
        positions = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        defaults = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        row = namedtuple("Row", [column.key for column in self.statement.selected_columns])
        self._compiled[dialect.name] = _Compiled(compiled.string, defaults, positions, binds, row)
        return self._compiled[dialect.name]

    def _results(self, connection, cursor) -> tuple[tuple[int, Callable], ...]:
        """The result processors, which may depend on the driver's column types (known once a statement ran)."""
        dialect = connection.dialect
        types = [column.type.dialect_impl(dialect) for column in self.statement.selected_columns]
        results = tuple((index, processor) for index, (type_, described) in enumerate(zip(types, cursor.description))
                        if (processor := type_.result_processor(dialect, described[1])) is not None)
        compiled = self._compiled[dialect.name]
        self._compiled[dialect.name] = dataclasses.replace(compiled, results=results)
        return results


def _bound(compiled: _Compiled, params: dict[str, Any]):
    if compiled.defaults:
        params = {**compiled.defaults, **params}
    if compiled.binds:
        params = {name: compiled.binds[name](value) if name in compiled.binds else value
                  for name, value in params.items()}
    if compiled.positions is None:
        return params
    return [params[name] for name in compiled.positions]


def _processed(row: tuple, results: tuple[tuple[int, Callable], ...]) -> tuple:
    if not results:
        return row
    values = list(row)
    for index, processor in results:
        values[index] = processor(values[index])
    return values
