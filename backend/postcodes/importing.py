"""Importing the ONS Postcode Directory (ONSPD) CSV: docs/postcodes.md.

The full directory is about 2.7 million rows (1.3 GB): it is read as a stream, one row at a time,
and written in batches with one upsert statement each (`INSERT ... ON CONFLICT (code) DO UPDATE`,
which SQLite and PostgreSQL both speak), so memory stays flat and a re-import updates rows in
place. The statement is written here rather than by `bulk_create(update_conflicts=True)`: building
Django's SQL for each row took three quarters of the import's time (bench/import_postcodes.py).
The whole import is one transaction: a file with a bad row changes nothing (unless bad rows are to
be skipped), and a coordinator looking postcodes up meanwhile sees the old table, never half of the
new one.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction

from backend.postcodes.lookup import COMPACT, compact, written
from backend.postcodes.models import Postcode

# The directory's columns this import reads (the file has about fifty; the rest are ignored).
# Their names have been lower case since 2011 and upper case in some older releases: both work.
POSTCODE, LATITUDE, LONGITUDE, TERMINATED = "pcds", "lat", "long", "doterm"
REQUIRED_COLUMNS = (POSTCODE, LATITUDE, LONGITUDE, TERMINATED)

# The directory gives a postcode with no grid reference (a few thousand, mostly new or PO boxes)
# latitude 99.999999 and longitude 0: nowhere to send a crew, so it is left out, not refused.
NO_LOCATION_LATITUDE = 99.999999
# The United Kingdom, the Channel Islands and the Isle of Man, with a margin: a point outside is a
# corrupt row (or a swapped latitude and longitude), and a crew must never be sent there.
LATITUDE_RANGE = (49.0, 61.0)
LONGITUDE_RANGE = (-9.0, 2.0)
TERMINATED_FORMAT = re.compile(r"^([0-9]{4}(0[1-9]|1[0-2]))?$")

BATCH_SIZE = 5000
MAX_ERRORS_SHOWN = 20


class BadFile(Exception):
    """The file cannot be imported: columns missing, or bad rows (each named by its row number)."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass
class ImportResult:
    written: int = 0  # new and updated postcodes
    without_location: int = 0  # no grid reference in the directory: left out
    terminated: int = 0  # postcodes in the table no longer in use (still found: docs/postcodes.md)
    bad_rows: int = 0
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS_SHOWN, with row numbers


class BadRow(ValueError):
    pass


def import_postcodes(lines: Iterable[str], *, skip_bad_rows: bool = False) -> ImportResult:
    """Import an ONSPD CSV given as lines of text (an open file). Raises BadFile, having changed
    nothing, when a column is missing or (unless `skip_bad_rows`) any row is bad."""
    result = ImportResult()
    with transaction.atomic():
        batch: dict[str, tuple] = {}
        for row_number, row in _rows(lines):
            try:
                postcode = _postcode_of(row)
            except BadRow as error:
                result.bad_rows += 1
                if len(result.errors) < MAX_ERRORS_SHOWN:
                    result.errors.append(f"Row {row_number}: {error}")
                continue
            if postcode is None:
                result.without_location += 1
                continue
            if result.bad_rows and not skip_bad_rows:
                continue  # the file will be refused: keep reading only to name its bad rows
            # The last copy of a postcode in the file wins (and one upsert may not touch a row twice).
            batch[postcode[0]] = postcode
            if len(batch) >= BATCH_SIZE:
                result.written += _write(batch.values())
                batch.clear()
        if result.bad_rows and not skip_bad_rows:
            raise BadFile(
                f"{result.bad_rows} bad row{'s' if result.bad_rows != 1 else ''}: nothing was imported.",
                result.errors,
            )
        result.written += _write(batch.values())
        result.terminated = Postcode.objects.exclude(terminated="").count() if result.written else 0
    return result


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """Each data row with its row number, the header being row 1 (as a spreadsheet numbers them)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise BadFile("The file is empty: expected the ONS Postcode Directory's CSV with a header row.")
    columns = {name.strip().lstrip("\ufeff").lower(): index for index, name in enumerate(header)}
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise BadFile(
            f"Row 1 (the header) lacks the column{'s' if len(missing) != 1 else ''} {', '.join(missing)}: "
            "is this the ONS Postcode Directory's CSV?"
        )
    wanted = {name: columns[name] for name in REQUIRED_COLUMNS}
    for row_number, values in enumerate(reader, start=2):
        if not values:
            continue  # a blank line (often the last)
        if len(values) <= max(wanted.values()):
            yield row_number, {"__short__": len(values)}
            continue
        yield row_number, {name: values[index].strip() for name, index in wanted.items()}


def _postcode_of(row: dict) -> tuple | None:
    """The row as the columns of a Postcode (COLUMNS), None when the directory has no location for
    it, or BadRow."""
    if "__short__" in row:
        raise BadRow(f"only {row['__short__']} columns.")
    if not row[POSTCODE]:
        raise BadRow("no postcode (pcds is empty).")
    code = compact(row[POSTCODE])
    if not COMPACT.match(code):
        raise BadRow(f"{row[POSTCODE][:20]!r} is not a UK postcode (pcds).")
    latitude = _number(row[LATITUDE], LATITUDE)
    longitude = _number(row[LONGITUDE], LONGITUDE)
    if latitude == NO_LOCATION_LATITUDE:
        return None
    if not LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]:
        raise BadRow(f"latitude {latitude} is outside the United Kingdom (lat).")
    if not LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]:
        raise BadRow(f"longitude {longitude} is outside the United Kingdom (long).")
    if not TERMINATED_FORMAT.match(row[TERMINATED]):
        raise BadRow(f"termination date {row[TERMINATED][:20]!r} is not YYYYMM (doterm).")
    return (code, written(code), latitude, longitude, row[TERMINATED])


def _number(text: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRow(f"{text[:20]!r} is not a number ({column}).") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadRow(f"{text[:20]!r} is not a number ({column}).")
    return value


COLUMNS = ("code", "postcode", "latitude", "longitude", "terminated")


def _upsert_statement() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in COLUMNS)
    updates = ", ".join(f"{quote(column)} = excluded.{quote(column)}" for column in COLUMNS[1:])
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    # Names from the model and constants only, quoted; the values go as parameters.
    return (
        f"INSERT INTO {quote(Postcode._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({quote('code')}) DO UPDATE SET {updates}"
    )


def _write(postcodes: Iterable[tuple]) -> int:
    """Insert or update a batch of postcodes (tuples of COLUMNS, one per code) in one statement."""
    postcodes = list(postcodes)
    if postcodes:
        with connection.cursor() as cursor:
            cursor.executemany(_upsert_statement(), postcodes)
    return len(postcodes)
