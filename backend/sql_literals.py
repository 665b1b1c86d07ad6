"""Constants of the code written into a statement's SQL instead of sent as parameters.

With prepared statements (backend/settings.py, DATABASE_PREPARED_STATEMENTS) PostgreSQL may run a
statement by a generic plan, made once without the parameters' values. A state compared with a
parameter is then of unknown frequency and cannot match a partial index's condition: the delivery
claim's `state = %s` made its generic plan read every push ever sent (400,000 rows, 70 ms, against
18 rows by index; tests/dispatch/test_generic_plans.py). Written as a literal, the value is in every
plan. Only short lowercase words (the models' choices), so nothing can be injected."""

import datetime
import re

from django.db.models import CharField, DateTimeField, Expression
from django.utils import timezone

_WORD = re.compile(r"[a-z][a-z_]{0,40}")


class Literal(Expression):
    """`'value'` in the SQL, compared as the CharField it is compared with."""

    def __init__(self, value: str):
        if not _WORD.fullmatch(value):
            raise ValueError(f"not a plain word: {value!r}")
        super().__init__(output_field=CharField())
        self.value = str(value)

    def as_sql(self, compiler, connection):
        return f"'{self.value}'", []


class SecondsAgo(Expression):
    """The time `seconds` (a constant of the code) before now. On PostgreSQL by the database's clock
    in the SQL, `statement_timestamp() - interval 'N seconds'`: the planner works the value out for
    every plan, a generic one too, and expects the few recent rows it finds, where a time sent as a
    parameter is, for a generic plan, a third of the table (the board's incidents read: all of a
    year's 20,000, 4 ms, for its 100). Elsewhere a parameter, by Python's clock."""

    def __init__(self, seconds: int):
        super().__init__(output_field=DateTimeField())
        self.seconds = int(seconds)

    def as_sql(self, compiler, connection):
        at = timezone.now() - datetime.timedelta(seconds=self.seconds)
        return "%s", [connection.ops.adapt_datetimefield_value(at)]

    def as_postgresql(self, compiler, connection):
        return f"(statement_timestamp() - interval '{self.seconds} seconds')", []


def literals(values) -> list[Literal]:
    """A set of choices for `__in`, in a steady order (one statement text for the plan cache)."""
    return [Literal(value) for value in sorted(values)]
