from tests.support.push_service import push_service  # noqa: F401 (a fixture, for test_alerts_need_no_recent_login.py)
