"""What the test harness checks on a channel layer between tests."""


def a_receive_is_left_on(layer) -> bool:
    """True if channels_redis still counts a receive, has a backup-queue cleaner pending, or keeps a
    per-channel lock. With nothing receiving, that lock should be gone: a receive cancelled while it
    waited for the lock (a test ending) leaves its wait counted, so the lock is never deleted and stays
    bound to the test's event loop; the next test that waits for it on that layer fails with "Lock
    [locked] is bound to a different event loop" although no receive is counted (CI's PostgreSQL +
    Redis pass). The in-memory layer has none of these and is never stuck this way."""
    if getattr(layer, "receive_count", 0) or getattr(layer, "receive_cleaners", None):
        return True
    clean_locks = getattr(layer, "receive_clean_locks", None)
    return bool(getattr(clean_locks, "locks", None))
