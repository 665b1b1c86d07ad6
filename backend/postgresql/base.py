"""Django's PostgreSQL DatabaseWrapper, with OutageAwarePool as its connection pool."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base

from backend.postgresql.pool import OutageAwarePool


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        """Django 5.2's DatabaseWrapper.pool, building an OutageAwarePool instead of psycopg_pool's
        ConnectionPool (Django names that class in the property, with no setting to change it)."""
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            connect_kwargs = self.get_connection_params()
            # Autocommit, as Django's own pool: Django sets it as it needs afterwards.
            connect_kwargs["autocommit"] = True
            options = {} if pool_options is True else pool_options
            pool = OutageAwarePool(
                kwargs=connect_kwargs,
                open=False,  # opened by the first request, as Django's
                configure=self._configure_connection,
                check=OutageAwarePool.check_connection if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                kept_for_sockets=kept_for_sockets(options.get("max_size")),
                **options,
            )
            # Several threads may build one at start-up: the first stored wins, as in Django.
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]


def kept_for_sockets(max_size: int | None) -> int:
    """The connections the pool keeps for the sockets' database threads (backend/database_threads.py),
    one each, so that a reconnecting phone never waits for an HTTP request to give one back; the
    requests keep at least one."""
    if not max_size:
        return 0
    return max(0, min(settings.WEBSOCKET_DATABASE_THREADS, max_size - 1))
