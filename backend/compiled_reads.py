"""Rows of a model with related rows joined, as `select_related(...).filter(<field>__in=...)` gives
them, by SQL written once per process (issue 17 item 2).

The CAD's create-and-dispatch call reads its token (with its user) and the chosen responders (with
their stations and users). Built and compiled as querysets on every call, each took several times
the time the database took to run it (py-spy). A `JoinedLoad` writes the statement the ORM writes
for such a queryset once (the same columns of the same tables, the same inner joins over the same
non-null foreign keys; names from `_meta`), and turns each row into the same instances the ORM
makes: the values through the converters the ORM applies to those columns (chosen once:
dates, JSON, booleans on SQLite...), `Model.from_db` for each model, each relation cached on its
instance as select_related caches it (and a one-to-one's reverse side). Plain values only in the
filter: the column's values in database form, as a lookup would put them (ints and strings are).
"""

from django.db import connections
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init


class JoinedLoad:
    def __init__(self, model, relations: tuple[str, ...], filter_field: str):
        self.model = model
        self.relations = [model._meta.get_field(name) for name in relations]
        for field in self.relations:
            if not (field.is_relation and field.concrete) or field.null:
                raise ValueError(f"{field} is not a non-null forward relation: select_related would outer-join it")
        self.filter_field = model._meta.get_field(filter_field)
        self._plans: dict[str, tuple] = {}

    def rows(self, values: list, *, using: str = "default", lock: bool = False) -> list:
        """The model's instances whose `filter_field` is one of `values`, relations in place, in the
        order the database returns them. `lock`: the model's rows (not the related ones) locked for
        the caller's transaction, in primary key order, as `select_for_update(of=("self",))
        .order_by("pk")` locks them (where the database has FOR UPDATE)."""
        return [instance for instance, _extra in self._load(values, using=using, lock=lock)]

    def rows_with(self, values: list, extra: tuple[str, ...], *, using: str = "default") -> list[tuple]:
        """(instance, (value of each of `extra`, ...)) for each of `rows`' instances: `extra` are
        SQL expressions selected in the same statement after the models' columns, naming the
        tables by their own names (the token check's permissions: one round trip less, issue 17),
        their values as the database driver gives them. Written by the caller's code, never from
        input."""
        return self._load(values, using=using, extra=extra)

    def _load(self, values: list, *, using: str, lock: bool = False, extra: tuple[str, ...] = ()) -> list[tuple]:
        if not values:
            return []
        connection = connections[using]
        sql, slices, converters = self._plan(connection)
        sql = sql.format(values=", ".join(["%s"] * len(values)), extra="".join(f", {column}" for column in extra))
        if lock:
            sql += self._lock_sql(connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, list(values))
            rows = cursor.fetchall()
        if converters:
            rows = _converted(rows, converters, connection)
        build = [(_builder(model), attnames, a, b) for model, attnames, a, b in slices]
        models_end = slices[-1][3]
        loaded = []
        for row in rows:
            instance, *related = (new(using, attnames, row[a:b]) for new, attnames, a, b in build)
            for field, other in zip(self.relations, related, strict=True):
                field.set_cached_value(instance, other)
                if field.one_to_one:
                    field.remote_field.set_cached_value(other, instance)
            loaded.append((instance, tuple(row[models_end:])))
        return loaded

    def _lock_sql(self, connection) -> str:
        q, meta = connection.ops.quote_name, self.model._meta
        table = q(meta.db_table)
        order = f" ORDER BY {table}.{q(meta.pk.column)} ASC"
        if not connection.features.has_select_for_update:
            return order  # SQLite: the write lock is the transaction's, from BEGIN IMMEDIATE
        return (
            f"{order} FOR UPDATE OF {table}" if connection.features.has_select_for_update_of else f"{order} FOR UPDATE"
        )

    def _plan(self, connection):
        plan = self._plans.get(connection.alias)
        if plan is None:
            plan = self._plans[connection.alias] = self._write(connection)
        return plan

    def _write(self, connection):
        q = connection.ops.quote_name
        models = [self.model, *(field.related_model for field in self.relations)]
        slices, columns, start = [], [], 0
        for model in models:
            fields = model._meta.concrete_fields
            slices.append((model, [field.attname for field in fields], start, start + len(fields)))
            columns += [field.get_col(model._meta.db_table) for field in fields]
            start += len(fields)
        table = q(self.model._meta.db_table)
        joins = "".join(
            f" INNER JOIN {q(field.related_model._meta.db_table)} ON ({table}.{q(field.column)} ="
            f" {q(field.related_model._meta.db_table)}.{q(field.target_field.column)})"
            for field in self.relations
        )
        select = ", ".join(f"{q(column.alias)}.{q(column.target.column)}" for column in columns)
        sql = (
            f"SELECT {select}{{extra}} FROM {table}{joins}"  # noqa: S608 (names from _meta)
            f" WHERE {table}.{q(self.filter_field.column)} IN ({{values}})"
        )
        compiler = self.model._default_manager.all().query.get_compiler(connection=connection)
        return sql, slices, list(compiler.get_converters(columns).items())


def _converted(rows, converters, connection):
    """SQLCompiler.apply_converters, with the connection of the thread reading (a plan is shared by
    the threads, each with its own connection)."""
    for row in map(list, rows):
        for position, (functions, expression) in converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        yield row


def _builder(model):
    """`model.from_db`, or where it comes to the same instance, a quicker way to it: a row of every
    concrete field, no `__init__` or `from_db` of the model's own, nobody listening for
    `pre_init`/`post_init`, and each field's attribute one that a new instance stores as it is
    (`DeferredAttribute`, and `ForeignKeyDeferredAttribute`, whose setter clears a cached related
    object a new instance does not have). Model.__init__ sets each of a row's values through
    `setattr`, about 2 us an instance more for the same `__dict__` (issue 17 item 2: the CAD's call
    builds about a hundred, its responders with their stations and users, their phones)."""
    if (
        model.__init__ is not Model.__init__
        or model.from_db.__func__ is not Model.from_db.__func__
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
        or not _stored_as_is(model)
    ):
        return model.from_db
    new_object = model.__new__

    def from_db(using, attnames, values):
        instance = new_object(model)
        instance._state = state = ModelState()
        instance.__dict__.update(zip(attnames, values, strict=True))
        state.adding = False
        state.db = using
        return instance

    return from_db


_PLAIN_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute)
_stored_as_is_by_model: dict[type, bool] = {}


def _stored_as_is(model) -> bool:
    known = _stored_as_is_by_model.get(model)
    if known is None:
        known = _stored_as_is_by_model[model] = all(
            type(getattr(model, field.attname, None)) in _PLAIN_ATTRIBUTES for field in model._meta.concrete_fields
        )
    return known
