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
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

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
    pk_column: str
    # PostgreSQL: INSERT INTO "table" (...) SELECT * FROM UNNEST((%s)::integer[], ...), one array of
    # values a column, so the statement is the same text for any number of rows; None elsewhere, or
    # where a column's values cannot travel in an array (as Django's own bulk_create decides).
    unnest_sql: str | None
    # PostgreSQL: the rows as one JSON document, each column cast from it (see _json_rows_sql);
    # None elsewhere, or where a column is of a kind that is not written so.
    json_rows_sql: str | None = None
    json_attnames: tuple[str, ...] = ()  # the JSON columns' (an EncodedJson is given back as its value)
    # Each column's type on this connection (Field.db_type), as the companion rows cast to it: asked
    # on every dispatch for each column of the alerts' audit entries before (issue 17 item 2).
    db_types: tuple[str | None, ...] = ()


_plans: dict[tuple[type, str], _Plan] = {}


@dataclass(frozen=True, slots=True)
class EncodedJson:
    """A JSON column's value given with the text it is written as, for a caller that encodes the
    document once and needs the same text for something else: a stored event's frame (issue 17:
    each event's data was encoded three times in every dispatch, twice on the way to its row and
    once for its frame). `text` must be what the field's encoder makes of `value` (json.dumps, for
    a field without one); `value` is what the instance holds again once written."""

    value: object
    text: str


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class OnePerRow:
    """Rows of another model to write with `insert_rows`' rows, one for each, all alike but for the
    column(s) that hold the new row's primary key: an alert's audit entry, say. `values`: the rows'
    columns by attname (a field not given takes its default); `pk_into`: the attname of the column
    that takes the primary key (in its own type: the key as text for a CharField), or a tuple of
    them where more than one does (an incident's own audit entry names it as its object and as its
    incident)."""

    model: type
    values: dict
    pk_into: str | tuple[str, ...]

    @property
    def pk_columns(self) -> tuple[str, ...]:
        return (self.pk_into,) if isinstance(self.pk_into, str) else tuple(self.pk_into)

    def row_for(self, pk) -> dict:
        """The companion row of the new row with this key."""
        return {**self.values, **dict.fromkeys(self.pk_columns, pk)}


def insert_rows(
    instances: list,
    *,
    now: datetime.datetime | None = None,
    using: str = "default",
    one_per_row: OnePerRow | None = None,
) -> list:
    """Insert new instances of one model, in as few statements as the database allows (one for a
    dispatch's rows), and set each one's primary key from the rows written, in order. Returns the
    instances. Must run inside the caller's transaction or opens one. `now`: the time to stamp in
    auto_now and auto_now_add columns (by default the time of the call), for a row that must hold
    the same instant in another column (an incident created and dispatched at once).

    `one_per_row`: a row of another model for each instance, written in the same statement on
    PostgreSQL (a data-modifying WITH: one round trip, not two), after it elsewhere."""
    if not instances:
        return instances
    connection = connections[using]
    model = type(instances[0])
    plan = _plan_for(model, connection)
    values = _values_in_database_form(instances, plan, model, now=now)
    together = one_per_row is not None and connection.vendor == "postgresql"
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if together:
            pks = _insert_returning_ids(cursor, plan, values, connection, instances, one_per_row=one_per_row)
        elif connection.features.can_return_rows_from_bulk_insert:
            pks = _insert_returning_ids(cursor, plan, values, connection, instances)
        else:  # an SQLite older than 3.35: a row at a time, each one's id as the driver tells it
            pks = _insert_one_by_one(cursor, plan, values, connection, model)
        if one_per_row is not None and not together:
            insert_values(
                one_per_row.model,
                [one_per_row.row_for(pk) for pk in pks],
                using=using,
                returning=False,
            )
    _written(instances, pks, plan, using)
    return instances


@dataclass(frozen=True)
class ReadPerRow:
    """A value read for each new row in the insert's own statement, on PostgreSQL: a scalar
    subquery that names the new row's columns as `NEW_ROWS."<column>"` (the insert's RETURNING
    holds every column). Every part of a statement with a data-modifying WITH reads the snapshot
    taken when the statement began, so it does not see the rows the statement inserts: what it
    reads is what a read of its own just before the insert would have read (a statement that does
    not wait for any lock in between). `params`: its parameters, once for the statement."""

    sql: str
    params: list


def insert_rows_reading(instances: list, read: ReadPerRow, *, using: str = "default") -> tuple[list, list]:
    """insert_rows, and `read` for each row in the same statement (one round trip, not two; the
    caller reads separately on another database, which has no data-modifying WITH). Returns the
    instances with their keys, and the value read for each, in the instances' order. All in one
    statement or the snapshot differs between batches: the rows must fit in one."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise NotImplementedError("insert_rows_reading needs PostgreSQL's data-modifying WITH.")
    if not instances:
        return instances, []
    model = type(instances[0])
    plan = _plan_for(model, connection)
    values = _values_in_database_form(instances, plan, model, now=None)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        sql, params = _insert_sql(plan, values, len(instances))
        cursor.execute(
            f"WITH {_NEW} AS ({sql} RETURNING *) SELECT {_NEW}.{connection.ops.quote_name(plan.pk_column)},"  # noqa: S608 (names from _meta)
            f" ({read.sql}) FROM {_NEW}",
            [*params, *read.params],
        )
        rows = cursor.fetchall()
    if len(rows) != len(instances):
        raise AssertionError(f"insert_rows_reading: {len(rows)} rows returned for {len(instances)} inserted.")
    _written(instances, [pk for pk, _value in rows], plan, using)
    return instances, [value for _pk, value in rows]


def _written(instances: list, pks: list, plan: _Plan, using: str) -> None:
    """The instances as saved ones: their keys, and each EncodedJson given back as its value."""
    for instance, pk in zip(instances, pks, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = using
        for attname in plan.json_attnames:
            value = getattr(instance, attname)
            if type(value) is EncodedJson:
                setattr(instance, attname, value.value)


def new_instance(model: type, **values):
    """A new, unsaved instance, as `model(**values)` makes it, built by position: Model.__init__'s
    path for positional values (the one `from_db` takes) skips the keyword path's per-field default
    and descriptor work, which cost a dispatch about 35 us an alert (issue 17 item 2). `values`:
    by field name or attname; a relation given by name has its object cached, as its descriptor
    caches it. Fields not given take their defaults."""
    fields, relations, defaults = _init_plan(model)
    related = []
    for name, field in relations.items():
        if name in values:
            obj = values.pop(name)
            values[field.attname] = None if obj is None else obj.pk
            related.append((field, obj))
    args = [
        values.pop(field.attname) if field.attname in values else default() if default is not None else plain
        for field, (plain, default) in zip(fields, defaults, strict=True)
    ]
    if values:
        raise TypeError(f"{model.__name__} has no field(s) {sorted(values)}.")
    instance = model(*args)
    for field, obj in related:
        field.set_cached_value(instance, obj)
        if obj is not None and instance._state.db is None:
            instance._state.db = obj._state.db or DEFAULT_DB_ALIAS  # as the descriptor's router call
    return instance


_init_plans: dict[type, tuple] = {}


def _init_plan(model: type) -> tuple:
    plan = _init_plans.get(model)
    if plan is None:
        fields = tuple(model._meta.concrete_fields)
        relations = {field.name: field for field in fields if field.is_relation and field.many_to_one}
        plan = _init_plans[model] = (fields, relations, tuple(_default_of(field) for field in fields))
    return plan


def _default_of(field) -> tuple:
    """(the default, None) where it is the same value every time, as Field.get_default gives it;
    (None, field.get_default) where a callable makes a new one each time (a dict, a new UUID). A
    dispatch's 200 alerts asked each of 15 fields' default once an alert."""
    if field.has_default() and callable(field.default):
        return None, field.get_default
    return field.get_default(), None


def insert_values(
    model: type,
    rows: list[dict],
    *,
    now: datetime.datetime | None = None,
    using: str = "default",
    returning: bool = True,
) -> list[int] | None:
    """Insert new rows of `model` given as {attname: value} (a field not given takes its default,
    as the model's __init__ gives it), as insert_rows writes instances, without building a model
    instance for each row (Model.__init__ with keyword arguments costs more than the row's whole
    conversion). Returns the new primary keys in order, or None with `returning=False`."""
    if not rows:
        return [] if returning else None
    connection = connections[using]
    plan = _plan_for(model, connection)
    values = _row_values_in_database_form(rows, plan, now=now)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.features.can_return_rows_from_bulk_insert:
            pks = _insert_returning_ids(cursor, plan, values, connection, rows, returning=returning)
        else:
            pks = _insert_one_by_one(cursor, plan, values, connection, model)
    return pks if returning else None


def _insert_returning_ids(
    cursor, plan: _Plan, values: list, connection, rows: list, *, returning=True, one_per_row=None
) -> list[int]:
    """As many rows a statement as the database takes parameters (all of a dispatch's in one)."""
    per_statement = max(1, connection.ops.bulk_batch_size([c.field for c in plan.columns], rows))
    width = len(plan.columns)
    if one_per_row is not None:
        companion_sql, companion_params = _companion_sql(one_per_row, connection, plan.pk_column)
    pks = []
    for first in range(0, len(rows), per_statement):
        count = min(per_statement, len(rows) - first)
        params = values[first * width : (first + count) * width]
        sql, params = _insert_sql(plan, params, count)
        if one_per_row is not None:
            # The companions read the new keys from the insert's RETURNING; the statement returns
            # them as the insert alone would, in the order of the rows.
            sql = f"WITH {_NEW} AS ({sql} {plan.returning_sql}), {companion_sql} SELECT * FROM {_NEW}"  # noqa: S608 (names from _meta)
            params = [*params, *companion_params]
        elif returning:
            sql = f"{sql} {plan.returning_sql}"
        cursor.execute(sql, params)
        if returning:
            pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


_NEW = '"new_rows"'
NEW_ROWS = _NEW  # what a ReadPerRow's SQL calls the rows being inserted


def _insert_sql(plan: _Plan, params: list, count: int) -> tuple[str, list]:
    """The INSERT of `count` rows (`params`: their values, row after row), without RETURNING."""
    if plan.json_rows_sql and count > 1:
        document = _json_rows(params, len(plan.columns))
        if document is not None:
            return plan.json_rows_sql, [document]
    if plan.unnest_sql and count > 1:
        # The rows as columns: psycopg splits a statement's text at its placeholders on every
        # call once it has more than 50 (its cache's limit), 1.1 ms of Python for a dispatch's
        # 20 alerts with their audit entries; this text has one a column and is split once.
        width = len(plan.columns)
        return plan.unnest_sql, [params[column::width] for column in range(width)]
    return f"{plan.insert_sql} {', '.join([plan.row_placeholder] * count)}", params


def _companion_sql(one_per_row: OnePerRow, connection, pk_column: str) -> tuple[str, list]:
    """`"companions" AS (INSERT INTO ... SELECT ... FROM "new_rows" ...)` and its parameters: one row
    per new row, its values cast to their columns' types, the new key into each of `pk_into`."""
    plan = _plan_for(one_per_row.model, connection)
    (values,) = _rows_in_database_form([one_per_row.row_for(0)], plan, now=None)
    pk_columns = one_per_row.pk_columns
    new_pk = f"{_NEW}.{connection.ops.quote_name(pk_column)}"
    selected, params = [], []
    for column, db_type, value in zip(plan.columns, plan.db_types, values, strict=True):
        if column.field.attname in pk_columns:
            selected.append(f"CAST({new_pk} AS {db_type})")
        else:
            selected.append(f"CAST(%s AS {db_type})")
            params.append(value)
    insert = plan.insert_sql.removesuffix(" VALUES")
    sql = f'"companions" AS ({insert} SELECT {", ".join(selected)} FROM {_NEW} ORDER BY {new_pk})'  # noqa: S608
    return sql, params


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


def _row_values_in_database_form(rows: list[dict], plan: _Plan, *, now) -> list:
    """insert_values' rows, row after row, in database form (as _values_in_database_form)."""
    return [value for row in _rows_in_database_form(rows, plan, now=now) for value in row]


def _rows_in_database_form(rows: list[dict], plan: _Plan, *, now) -> list[list]:
    """Column by column, as _values_in_database_form: a value the rows share (the dispatch's time, a
    column's default) is converted once, not once a row. Row by row, the 200 deliveries of a
    dispatch asked each column's default and converted it 4,000 times (issue 17 item 3)."""
    unknown = set().union(*rows) - {column.field.attname for column in plan.columns}
    if unknown:
        raise ValueError(f"insert_values: no such column(s) {sorted(unknown)}.")
    if now is None and any(column.stamped for column in plan.columns):
        now = timezone.now()
    columns = []
    for column in plan.columns:
        if column.stamped:
            columns.append([column.to_db(now)] * len(rows))
            continue
        attname, field, to_db = column.field.attname, column.field, column.to_db
        # A default that is not a callable is the same value for every row (a callable one, such
        # as a new UUID, is asked again for each row).
        shared_default = not (field.has_default() and callable(field.default))
        default = field.get_default() if shared_default else None
        last, last_in_db_form = _NOTHING, None
        converted = []
        for row in rows:
            value = row.get(attname, _NOTHING)
            if value is _NOTHING:
                value = default if shared_default else field.get_default()
            if value is not last:
                last, last_in_db_form = value, to_db(value)
            converted.append(last_in_db_form)
        columns.append(converted)
    return [list(row) for row in zip(*columns, strict=True)]


_NOTHING = object()


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
    into = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    return _Plan(
        columns=tuple(_Column(field, _converter(field, connection), stamped=_is_stamped(field)) for field in fields),
        insert_sql=f"{into} VALUES",
        returning_sql=returning_sql,
        row_placeholder=f"({', '.join(['%s'] * len(fields))})",
        pk_column=meta.pk.column,
        unnest_sql=_unnest_sql(into, fields, connection),
        json_rows_sql=_json_rows_sql(into, fields, connection),
        json_attnames=tuple(field.attname for field in fields if field.get_internal_type() == "JSONField"),
        db_types=tuple(field.db_type(connection) for field in fields),
    )


def _unnest_sql(into: str, fields: list, connection) -> str | None:
    """`into` SELECT * FROM UNNEST((%s)::type[], ...) on PostgreSQL, as Django's bulk_create writes
    it (django/db/backends/postgresql/compiler.py) and for the fields it does it for: its own kinds
    of column, without a placeholder of their own; the types without their length, so that nothing
    is cut short on the way (the column's own type still checks it). Not for a model with a JSON
    column: psycopg escapes each quote of each document for the array with a regular expression's
    substitution, 2.5 ms for a dispatch's 20 stored events against 0.5 ms as VALUES rows."""
    if connection.vendor != "postgresql":
        return None
    for field in fields:
        kind = (field.target_field if field.is_relation else field).get_internal_type()
        if kind not in connection.data_types or hasattr(field, "get_placeholder") or kind == "JSONField":
            return None
    arrays = ", ".join(f"(%s)::{field.db_type(connection).split('(')[0]}[]" for field in fields)
    return f"{into} SELECT * FROM UNNEST({arrays})"  # noqa: S608 (names from _meta)


# Kinds of column written from a JSON document: each value's JSON form, cast by PostgreSQL, is the
# value (a timestamp or date as ISO text, a JSON column as the text of its document).
_JSON_ROW_KINDS = (
    _INTEGER_KINDS
    | _AUTO_KINDS
    | frozenset({"CharField", "TextField", "FloatField", "BooleanField", "DateTimeField", "DateField", "JSONField"})
)


def _json_rows_sql(into: str, fields: list, connection) -> str | None:
    """`into` SELECT each column cast from one JSON document of the rows (an array of arrays), in
    the rows' order: one parameter a statement, which psycopg passes as it is, where an array a
    column (`_unnest_sql`) had psycopg convert every value in Python, about 1 ms of a dispatch's
    call (docs/scaling.md, "The view's time is Python, not waiting"). The types without their
    length, as in _unnest_sql (a cast to varchar(n) would cut a value short; the column's own type
    still checks it)."""
    if connection.vendor != "postgresql":
        return None
    casts = []
    for index, field in enumerate(fields):
        kind = (field.target_field if field.is_relation else field).get_internal_type()
        if kind not in _JSON_ROW_KINDS or hasattr(field, "get_placeholder"):
            return None
        db_type = field.db_type(connection).split("(")[0]
        casts.append(f"(r ->> {index})::{db_type}")
    return (
        f"{into} SELECT {', '.join(casts)} FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS rows (r, n)"  # noqa: S608 (names from _meta)
        " ORDER BY n"
    )


def _json_rows(params: list, width: int) -> str | None:
    """The rows (`params`, row after row, in database form) as the JSON document _json_rows_sql
    reads, or None if a value has no JSON form (a float that is not finite, say): then the rows go
    as arrays instead."""
    rows = [params[first : first + width] for first in range(0, len(params), width)]
    try:
        return json.dumps(rows, default=_json_form, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None


def _json_form(value):
    """A database-form value json.dumps cannot write itself, as text PostgreSQL casts back."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, Jsonb):  # a JSON column (adapt_json_value): its document's text, cast to jsonb
        return (value.dumps or json.dumps)(value.obj)
    raise TypeError(f"No JSON form for {type(value).__name__}.")


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
        return _or_null(lambda value: _json_in_database_form(value, field, connection))
    return lambda value: field.get_db_prep_save(value, connection)


def _json_in_database_form(value, field, connection):
    if type(value) is EncodedJson:  # its text as the database form: Jsonb's dumps, or the text itself
        return Jsonb(value.text, dumps=_as_is) if connection.vendor == "postgresql" else value.text
    return connection.ops.adapt_json_value(value, field.encoder)


def _datetime_in_database_form(value, field, connection):
    if isinstance(value, datetime.datetime) and value.tzinfo is not None and settings.USE_TZ:
        return connection.ops.adapt_datetimefield_value(value)
    return field.get_db_prep_save(value, connection)  # naive (warned and made aware) or a date


def _or_null(convert: Callable) -> Callable:
    return lambda value: None if value is None else convert(value)
