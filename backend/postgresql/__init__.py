"""Django's PostgreSQL backend with a connection pool that tells an outage from a busy pool
(ENGINE "backend.postgresql", chosen by backend/settings.py when DATABASE_POOL is on): see pool.py."""
