"""No index of ours is the first columns of another index on the same table: every row written
updates every index, and a foreign key's own index (Django makes one for each by default) is
redundant where a composite index or a unique constraint starts with that column, which serves the
same look-ups. The hot tables had them: each stored event, position fix, alert and push delivery
updated an index nothing needed (docs/scaling.md, "Indexes that repeated others")."""

from django.apps import apps
from django.db import connection, models


def _our_models():
    return [model for model in apps.get_models() if model.__module__.startswith("backend.")]


def _column(model, name: str) -> str:
    return model._meta.get_field(name.lstrip("-")).column


def _covering_column_lists(model) -> list[tuple[str, ...]]:
    """The columns of each multi-column index and unique constraint that holds for every row."""
    lists = []
    for index in model._meta.indexes:
        if index.condition is None and index.fields:
            lists.append(tuple(_column(model, name) for name in index.fields))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None and constraint.fields:
            lists.append(tuple(_column(model, name) for name in constraint.fields))
    for fields in model._meta.unique_together:
        lists.append(tuple(_column(model, name) for name in fields))
    return [columns for columns in lists if len(columns) > 1]


def _redundant_single_column_indexes() -> list[str]:
    found = []
    for model in _our_models():
        covering = _covering_column_lists(model)
        for field in model._meta.local_fields:
            if field.primary_key or field.unique or not field.db_index:
                continue
            covered_by = [columns for columns in covering if columns[0] == field.column]
            if covered_by:
                found.append(f"{model._meta.label}.{field.name} (covered by {covered_by[0]})")
    return found


def test_no_field_has_an_index_that_a_composite_index_starts_with():
    assert _redundant_single_column_indexes() == []


def test_the_check_finds_one_when_there_is_one():
    from backend.dispatch.models import Alert

    field = Alert._meta.get_field("incident")
    field.db_index = True
    try:
        assert (
            "dispatch.Alert.incident (covered by ('incident_id', 'responder_id'))" in _redundant_single_column_indexes()
        )
    finally:
        field.db_index = False


def test_the_database_has_none_either(db):
    """The migrated schema as the database reports it: no plain index whose columns begin another's."""
    with connection.cursor() as cursor:
        for model in _our_models():
            if model._meta.proxy or not model._meta.managed:
                continue
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            indexes = {name: tuple(c["columns"]) for name, c in constraints.items() if c["index"] or c["unique"]}
            singles = {
                name: columns
                for name, columns in indexes.items()
                if len(columns) == 1
                and constraints[name]["index"]
                and not constraints[name]["unique"]
                and not constraints[name]["primary_key"]
            }
            partial = _partial_index_names(model)
            for name, columns in singles.items():
                longer = [
                    other
                    for other_name, other in indexes.items()
                    if len(other) > 1 and other[0] == columns[0] and other_name not in partial
                ]
                assert not longer, f"{model._meta.db_table}.{name} {columns} begins {longer}"


def _partial_index_names(model) -> set[str]:
    names = {index.name for index in model._meta.indexes if index.condition is not None}
    names |= {c.name for c in model._meta.constraints if getattr(c, "condition", None) is not None}
    return names
