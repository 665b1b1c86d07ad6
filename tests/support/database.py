"""A world of rows built once for a module's tests instead of once for each of them.

`once_per_module` runs in a module-scoped fixture: the rows it builds stay for the module's tests
and are rolled back after the last one. Each test that uses the world also asks for `db`, which
runs it in a savepoint inside (pytest-django's TestCase wrapping leaves an outer transaction
alone), so what a test writes is rolled back after it: every test still starts from the same world.
That is checked: every row of every table is compared after the module's last test with the rows
just after building, and a difference fails the module.

Not for tests whose code under test uses another database connection (sockets' consumers run the
ORM on their own thread; spawned processes): they need committed rows (transactional_db)."""

import sys
from collections.abc import Callable, Iterator
from typing import TypeVar

from django.apps import apps
from django.db import transaction
from django.test import override_settings

from backend.delivery import vapid

T = TypeVar("T")


def vapid_settings(key=None) -> dict:
    """Web Push configured, as production has it (tests/conftest.py's vapid_keys for each test)."""
    key = key or vapid.generate()
    return {
        "VAPID_PRIVATE_KEY": vapid.private_key_b64(key),
        "VAPID_PUBLIC_KEY": vapid.public_key_b64(key),
        "VAPID_SUBJECT": "mailto:coresponder-tests@example.org",
    }


def every_row() -> dict:
    """Every row of every table, by model."""
    return {model._meta.label: list(model._default_manager.order_by("pk").values_list()) for model in apps.get_models()}


def once_per_module(django_db_blocker, build: Callable[[], T]) -> Iterator[T]:
    """The body of a module-scoped fixture: `yield from once_per_module(django_db_blocker, build)`.
    `build` runs with Web Push configured, in a transaction that is rolled back after the module."""
    atomic = transaction.atomic()
    with django_db_blocker.unblock():
        atomic.__enter__()
        try:
            with override_settings(**vapid_settings()):
                world = build()
            built = every_row()
        except BaseException:
            atomic.__exit__(*sys.exc_info())
            raise
    try:
        yield world
        with django_db_blocker.unblock():
            left = every_row()
        changed = sorted(label for label in built if left[label] != built[label])
        assert not changed, f"A test's writes outlived it (the world is shared by the module's tests): {changed}"
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- A quicker flush after each transactional test ----------------------------------------------------

# Django empties every table after a transactional test (transactional_db, django_db(transaction=
# True)), then runs migrate's post_migrate handlers to make the content types, permissions and role
# groups again: 0.4 s a test, most of the cost of the socket tests (and on PostgreSQL its TRUNCATE
# costs another 0.4 s). These tables are kept instead, while they hold what they held before the
# first transactional test (a test that changed them gets Django's own full flush), and the others
# are emptied with DELETE.
KEPT_TABLES = (
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    "checklists_checklistversion",
)
_kept_as_migrated: dict[str, dict] = {}


def _kept_rows(connection) -> dict:
    with connection.cursor() as cursor:
        rows = {}
        for table in KEPT_TABLES:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")  # noqa: S608 (our constants)
            rows[table] = cursor.fetchall()
    return rows


def _empty(connection, tables: list[str]) -> None:
    """Delete every row of `tables`. On PostgreSQL DELETE with the foreign keys checked at commit
    (Django makes them deferrable) takes 15 ms where Django's TRUNCATE of the same tables takes 0.4 s;
    SQLite's flush is DELETE already."""
    from django.core.management.color import no_style

    if connection.vendor != "postgresql":
        connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables))
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names)


# The post_migrate handlers that fill KEPT_TABLES, and nothing else. Another handler (rows it makes
# elsewhere would be emptied and not made again) turns the quicker flush off until it is added here.
KNOWN_POST_MIGRATE = {"create_contenttypes", "create_permissions", "ensure_role_groups", "load_content_files"}


def quicker_flush(monkeypatch) -> None:
    """Patch Django's TransactionTestCase (for this test session) to flush all but KEPT_TABLES."""
    import warnings

    from django.core.management import call_command
    from django.db import connections
    from django.db.models.signals import post_migrate
    from django.test import TransactionTestCase

    handlers = {receiver().__name__ for _, receiver, _ in post_migrate.receivers if receiver() is not None}
    if handlers - KNOWN_POST_MIGRATE:
        warnings.warn(
            f"post_migrate handlers {sorted(handlers - KNOWN_POST_MIGRATE)} are not in "
            "tests/support/database.py's KNOWN_POST_MIGRATE: transactional tests get Django's full flush",
            stacklevel=1,
        )
        return

    full_setup = TransactionTestCase.__dict__["_fixture_setup"]  # a classmethod in Django 5.2
    full_teardown = TransactionTestCase.__dict__["_fixture_teardown"]

    def _fixture_setup(cls):
        full_setup.__get__(None, cls)()
        for db_name in cls._databases_names(include_mirrors=False):
            if db_name not in _kept_as_migrated:
                _kept_as_migrated[db_name] = _kept_rows(connections[db_name])

    def _fixture_teardown(self):
        if self.available_apps is not None or self.serialized_rollback:
            return full_teardown.__get__(self, type(self))()
        for db_name in self._databases_names(include_mirrors=False):
            connection = connections[db_name]
            if _kept_rows(connection) != _kept_as_migrated.get(db_name):
                call_command("flush", verbosity=0, interactive=False, database=db_name, reset_sequences=False)
                _kept_as_migrated[db_name] = _kept_rows(connection)
                continue
            tables = [
                table
                for table in connection.introspection.django_table_names(only_existing=True, include_views=False)
                if table not in KEPT_TABLES
            ]
            _empty(connection, tables)
        return None

    if isinstance(full_setup, classmethod):
        _fixture_setup = classmethod(_fixture_setup)
    monkeypatch.setattr(TransactionTestCase, "_fixture_setup", _fixture_setup)
    monkeypatch.setattr(TransactionTestCase, "_fixture_teardown", _fixture_teardown)
