"""The backup file: gzip'd JSON lines, a header first, then one line per row, then an end line.

    {"format": "dvorik-backup", "version": 1, "revision": "0013", "created_at": "…",
     "source": "mysql", "tables": [{"name": "admins", "columns": ["id", …], "rows": 2}, …]}
    {"t": "admins", "r": [1, "owner@shop.example", …]}
    …
    {"end": true, "rows": 12345}

JSON lines rather than SQL so one file restores into SQLite and MariaDB alike
(an embedded shop moves to MariaDB with `backup` and `restore`), and rather than
one JSON document so both sides stream: memory stays bounded by a batch,
whatever the size of the shop. The header carries the row count of every table
in dependency order, so a restore shows real progress and notices a file that
was cut short (a count that does not add up, the end line missing, gzip's own
check) before it commits anything.

Values are typed by the column, not guessed from the JSON: timestamps are ISO
8601 with their UTC offset, dates ISO, money a decimal string, JSON columns
nested as they are, enums their stored value.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum as PyEnum
from typing import IO, Any

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Enum, Integer, Numeric, String, null

from backend.domain.models.types import UTCDateTime

FORMAT = "dvorik-backup"
VERSION = 1

Decoder = Callable[[Any], Any]


class BackupError(Exception):
    """A backup or restore refused: the reason fits one line, nothing was changed."""


@dataclass(frozen=True)
class TableHeader:
    name: str
    columns: list[str]
    rows: int


@dataclass(frozen=True)
class Header:
    revision: str
    created_at: str
    source: str  # the dialect the backup was taken from ("sqlite", "mysql", "postgresql")
    tables: list[TableHeader]

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "revision": self.revision,
            "created_at": self.created_at,
            "source": self.source,
            "tables": [{"name": t.name, "columns": t.columns, "rows": t.rows} for t in self.tables],
        }

    @classmethod
    def from_json(cls, data: object) -> Header:
        """The header of a file; a foreign or newer file is refused with the reason."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError("not a Dvorik backup (no dvorik-backup header)")
        if data.get("version") != VERSION:
            raise BackupError(
                f"backup format version {data.get('version')!r} is not one this Dvorik reads "
                f"(version {VERSION})"
            )
        try:
            tables = [
                TableHeader(str(t["name"]), [str(c) for c in t["columns"]], int(t["rows"]))
                for t in data["tables"]
            ]
            return cls(str(data["revision"]), str(data["created_at"]), str(data["source"]), tables)
        except (KeyError, TypeError, ValueError) as error:
            raise BackupError(f"damaged backup header ({type(error).__name__}: {error})") from None


def _encode(value: object) -> object:
    """JSON's fallback for the values a column hands back that JSON has no type for."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"no backup encoding for {type(value).__name__}")


def _nullable(decode: Decoder) -> Decoder:
    return lambda value: None if value is None else decode(value)


def _json_value(value: object) -> object:
    # SQL NULL, not the JSON text 'null': the application reads both as None.
    return null() if value is None else value


def decoder(column: Column[Any]) -> Decoder:
    """How a value of `column` comes back from the file into what its type binds.

    Every column type of the models needs a case here (a test checks them
    all), so a new type cannot be backed up in a form restore misreads.
    """
    kind = column.type
    if isinstance(kind, JSON):
        return _json_value
    if isinstance(kind, Enum):  # before String: an Enum is a String
        enum_class = kind.enum_class
        if enum_class is None or not issubclass(enum_class, PyEnum):
            raise TypeError(f"{column}: an Enum column without its enum class")
        return _nullable(enum_class)
    if isinstance(kind, UTCDateTime | DateTime):
        return _nullable(datetime.fromisoformat)
    if isinstance(kind, Date):
        return _nullable(date.fromisoformat)
    if isinstance(kind, Numeric):
        return _nullable(Decimal)
    if isinstance(kind, Boolean):
        return _nullable(bool)
    if isinstance(kind, Integer):
        return _nullable(int)
    if isinstance(kind, String):
        return _nullable(str)
    raise TypeError(f"{column}: no backup encoding for column type {kind!r}")


class Writer:
    """Writes the lines of a backup into a binary stream, gzip'd."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._gzip = gzip.GzipFile(fileobj=stream, mode="wb", mtime=0)
        self.rows = 0

    def _line(self, data: object) -> None:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_encode)
        self._gzip.write(text.encode() + b"\n")

    def header(self, header: Header) -> None:
        self._line(header.to_json())

    def rows_of(self, table: str, rows: Sequence[Sequence[object]]) -> None:
        for row in rows:
            self._line({"t": table, "r": list(row)})
        self.rows += len(rows)

    def finish(self) -> None:
        self._line({"end": True, "rows": self.rows})
        self._gzip.close()


class Reader:
    """Reads a backup back: `header`, then `rows()` as (table, values), checked as they come."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._lines = self._read(gzip.GzipFile(fileobj=stream, mode="rb"))
        self.line = 0
        self.header = Header.from_json(self._next("the header"))

    def _read(self, source: gzip.GzipFile) -> Iterator[bytes]:
        try:
            yield from source
        except (OSError, EOFError, zlib.error) as error:
            # gzip.BadGzipFile is an OSError; a file cut short ends in EOFError.
            raise BackupError(f"not a complete gzip file ({error})") from None

    def _next(self, what: str) -> object:
        try:
            raw = next(self._lines)
        except StopIteration:
            raise BackupError(f"the file ends before {what} (cut short?)") from None
        self.line += 1
        try:
            return json.loads(raw)
        except ValueError:
            raise BackupError(f"line {self.line} is not JSON: not a Dvorik backup") from None

    def rows(self) -> Iterator[tuple[str, list[Any]]]:
        """Every row line in order, then the end line's check; anything else is refused."""
        for table in self.header.tables:
            for number in range(1, table.rows + 1):
                data = self._next(f"row {number} of {table.rows} of {table.name}")
                if not isinstance(data, dict) or data.get("t") != table.name:
                    raise BackupError(f"line {self.line}: expected a row of {table.name}")
                values = data.get("r")
                if not isinstance(values, list) or len(values) != len(table.columns):
                    raise BackupError(f"line {self.line}: a row of {table.name} is malformed")
                yield table.name, values
        end = self._next("its end line")
        if end != {"end": True, "rows": self.header.rows}:
            raise BackupError(f"line {self.line}: expected the end line after the last row")
        if next(self._lines, None) is not None:
            raise BackupError(f"line {self.line + 1}: data after the end line")
