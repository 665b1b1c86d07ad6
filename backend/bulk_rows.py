"""Multi-row inserts of new model instances, with each value put in database form by one small
function chosen once per column, instead of the ORM's preparation of every field of every row.

A dispatch writes its alerts, their audit entries, their stored events and their push deliveries in
one transaction (issue 17 item 2: the CAD's call within 3x a plain transaction writing the same
rows). `QuerySet.bulk_create` compiles each value of each field through the field's whole chain
(`pre_save`, `get_db_prep_save`, `get_prep_value`, the checks for expressions): about 1.5-2 ms of
Python for 20 rows of 20 columns, the largest part of the call that the plain transaction does not
have. `insert_rows` writes the same columns with the same values: the model is the schema (its
concrete fields, their defaults already on the instances, `auto_now_add` stamped as `pre_save`
stamps it), and each kind of column is converted by what its field's `get_db_prep_save` ends in
for this connection (`connection.ops.adapt_datetimefield_value`, `adapt_json_value`,
`adapt_integerfield_value`, ...), so SQLite and PostgreSQL get the forms they get from the ORM.
`tests/test_bulk_rows.py` holds the rows equal to those `bulk_create` writes, column by column.

Plain values only (no expressions), new rows only (no primary key set), and no signals, as
`bulk_create`. A kind of field without a converter here goes through its own `get_db_prep_save`.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, models, transaction
from django.utils import timezone

# Field kinds (Field.get_internal_type) whose get_db_prep_value is int() then
# connection.ops.adapt_integerfield_value.
_INTEGER_KINDS = frozenset(
    {
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)
_AUTO_KINDS = frozenset({"AutoField", "BigAutoField", "SmallAutoField"})


@dataclass(frozen=True)
class _Column:
    field: models.Field
    to_db: Callable  # a value of the field -> its database form (None -> NULL)
    stamped: bool  # auto_now / auto_now_add: the insert's time, as DateTimeField.pre_save sets it


@dataclass(frozen=True)
class _Plan:
    columns: tuple[_Column, ...]
    insert_sql: str  # INSERT INTO "table" ("a", "b", ...) VALUES
    returning_sql: str  # RETURNING "table"."id"
    row_placeholder: str  # (%s, %s, ...)


_plans: dict[tuple[type, str], _Plan] = {}


def insert_rows(instances: list, *, now: datetime.datetime | None = None, using: str = "default") -> list:
    """Insert new instances of one model, in as few statements as the database allows (one for a
    dispatch's rows), and set each one's primary key from the rows written, in order. Returns the
    instances. Must run inside the caller's transaction or opens one. `now`: the time to stamp in
    auto_now and auto_now_add columns (by default the time of the call), for a row that must hold
    the same instant in another column (an incident created and dispatched at once)."""
    if not instances:
        return instances
    connection = connections[using]
    model = type(instances[0])
    plan = _plan_for(model, connection)
    values = _values_in_database_form(instances, plan, model, now=now)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.features.can_return_rows_from_bulk_insert:
            pks = _insert_returning_ids(cursor, plan, values, connection, instances)
        else:  # an SQLite older than 3.35: a row at a time, each one's id as the driver tells it
            pks = _insert_one_by_one(cursor, plan, values, connection, model)
    for instance, pk in zip(instances, pks, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = using
    return instances


def _insert_returning_ids(cursor, plan: _Plan, values: list, connection, instances: list) -> list[int]:
    """As many rows a statement as the database takes parameters (all of a dispatch's in one)."""
    per_statement = max(1, connection.ops.bulk_batch_size([c.field for c in plan.columns], instances))
    width = len(plan.columns)
    pks = []
    for first in range(0, len(instances), per_statement):
        rows = min(per_statement, len(instances) - first)
        cursor.execute(
            f"{plan.insert_sql} {', '.join([plan.row_placeholder] * rows)} {plan.returning_sql}",
            values[first * width : (first + rows) * width],
        )
        pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


def _insert_one_by_one(cursor, plan: _Plan, values: list, connection, model: type) -> list[int]:
    width = len(plan.columns)
    pks = []
    for first in range(0, len(values), width):
        cursor.execute(f"{plan.insert_sql} {plan.row_placeholder}", values[first : first + width])
        pks.append(connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column))
    return pks


def _values_in_database_form(instances: list, plan: _Plan, model: type, *, now) -> list:
    """Every row's values, row after row, each converted once (a value shared by the rows, such as
    the dispatch's time or its incident, is converted once for all of them)."""
    for instance in instances:
        if type(instance) is not model or instance.pk is not None:
            raise ValueError(f"insert_rows takes new {model.__name__} instances only, got {instance!r}.")
    if now is None and any(column.stamped for column in plan.columns):
        now = timezone.now()
    columns = []
    for column in plan.columns:
        attname, to_db = column.field.attname, column.to_db
        if column.stamped:
            for instance in instances:
                setattr(instance, attname, now)
        if column.field.is_relation:
            for instance in instances:
                _take_related_pk(instance, column.field)
        last, last_in_db_form = object(), None
        converted = []
        for instance in instances:
            value = getattr(instance, attname)
            if value is not last:
                last, last_in_db_form = value, to_db(value)
            converted.append(last_in_db_form)
        columns.append(converted)
    return [value for row in zip(*columns, strict=True) for value in row]


def _take_related_pk(instance, field) -> None:
    """As Model._prepare_related_fields_for_save: a related object saved after it was assigned lends
    its primary key now; an unsaved one is refused."""
    if getattr(instance, field.attname) is not None or not field.is_cached(instance):
        return
    related = field.get_cached_value(instance)
    if related is None:
        return
    if related.pk is None:
        raise ValueError(f"insert_rows: {field.name} of {instance!r} is not saved yet.")
    setattr(instance, field.attname, related.pk)


def _plan_for(model: type, connection) -> _Plan:
    key = (model, connection.alias)
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _make_plan(model, connection)
    return plan


def _make_plan(model: type, connection) -> _Plan:
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.auto_field]
    for field in fields:
        if field.generated or field.db_default is not models.NOT_PROVIDED:
            raise TypeError(f"insert_rows does not write {meta.label}.{field.name} (a database default).")
    quote = connection.ops.quote_name
    returning_sql, _params = connection.ops.return_insert_columns([meta.pk])
    return _Plan(
        columns=tuple(_Column(field, _converter(field, connection), stamped=_is_stamped(field)) for field in fields),
        insert_sql=f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES",
        returning_sql=returning_sql,
        row_placeholder=f"({', '.join(['%s'] * len(fields))})",
    )


def _is_stamped(field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _converter(field, connection) -> Callable:
    """What field.get_db_prep_save(value, connection) comes to for a plain value of this field's
    kind, without the chain of calls; the field's own method for any other kind."""
    ops = connection.ops
    kind = field.get_internal_type()
    if field.is_relation:
        target = field.target_field
        if target.get_internal_type() in _AUTO_KINDS:
            return _or_null(lambda value: ops.validate_autopk_value(int(value)))
        return lambda value: field.get_db_prep_save(value, connection)
    if kind in _INTEGER_KINDS:
        return _or_null(lambda value: ops.adapt_integerfield_value(int(value), kind))
    if kind in ("CharField", "TextField"):
        return _or_null(lambda value: value if isinstance(value, str) else str(value))
    if kind == "FloatField":
        return _or_null(float)
    if kind == "BooleanField":
        return _or_null(field.to_python)
    if kind == "DateTimeField":
        return _or_null(lambda value: _datetime_in_database_form(value, field, connection))
    if kind == "JSONField":
        return _or_null(lambda value: ops.adapt_json_value(value, field.encoder))
    return lambda value: field.get_db_prep_save(value, connection)


def _datetime_in_database_form(value, field, connection):
    if isinstance(value, datetime.datetime) and value.tzinfo is not None and settings.USE_TZ:
        return connection.ops.adapt_datetimefield_value(value)
    return field.get_db_prep_save(value, connection)  # naive (warned and made aware) or a date


def _or_null(convert: Callable) -> Callable:
    return lambda value: None if value is None else convert(value)
