"""The test harness, shared by tests/ and bench/: stand-ins for the services the product talks to
(push_service: a Web Push service; notify_service: GOV.UK Notify's SMS API), running the product as
real processes (live_server: daphne, the worker, manage.py commands), and the fault-injection
cluster (cluster: several daphne and worker processes, a private Redis, a proxy in front of
PostgreSQL), and the test database's helpers (database: worlds built once per module, the quicker
flush after transactional tests). Nothing here is collected as tests."""
