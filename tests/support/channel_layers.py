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


def replace_group_send(monkeypatch, layer, group_send) -> None:
    """Make every group send of the real-time fan-out go through `group_send(group, message)`, one
    at a time in order: the layer's batch sends (backend/realtime/layers.py) are replaced by a loop
    over it, and the in-memory layer's sends at once are turned off, so that `group_send` may hold
    (await) or fail a send as a slow or unreachable Redis would."""

    async def group_send_many(messages):
        for group, message in messages:
            await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", group_send)
    monkeypatch.setattr(layer, "group_send_many", group_send_many)
    monkeypatch.setattr(layer, "group_send_many_nowait", None, raising=False)
