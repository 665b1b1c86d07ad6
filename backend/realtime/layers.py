"""The in-memory channel layer of the embedded setup, made to scale to a station's worth of sockets.

Channels' InMemoryChannelLayer walks every channel and group looking for expired messages on every
send and receive; with a thousand firefighters connected that walk dominates the time to deliver
an alert. Expiry is measured in seconds (messages expire after 60 s), so doing it at most once a
second loses nothing.

The walk over group memberships is the longer half (each socket is in three groups): at 10,000
sockets the whole walk took about 10 ms of the event loop every second. A membership expires only
after `group_expiry` (a day), so that half runs once a minute: a membership a day old is dropped
up to a minute later, and the loop's stop is left to the channels' half.
"""

import time

from channels.layers import InMemoryChannelLayer


class ThrottledInMemoryChannelLayer(InMemoryChannelLayer):
    clean_interval_seconds = 1.0  # messages expire after `expiry` (60 s)
    group_clean_interval_seconds = 60.0  # memberships expire after `group_expiry` (a day)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0
        self._groups_cleaned_at = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval_seconds:
            return
        self._cleaned_at = now
        self._clean_expired_messages()
        if now - self._groups_cleaned_at >= self.group_clean_interval_seconds:
            self._groups_cleaned_at = now
            self._clean_expired_memberships()

    def _clean_expired_messages(self):
        """Channels' own first half (channels 4.3 `_clean_expired`): a channel whose oldest message
        expired loses it and leaves every group; an emptied channel is forgotten."""
        now = time.time()
        # Only the channels holding an expired message are copied out (most sockets' are empty).
        expired = [
            (channel, queue) for channel, queue in self.channels.items() if queue._queue and queue._queue[0][0] < now
        ]
        for channel, queue in expired:
            while not queue.empty() and queue._queue[0][0] < time.time():
                queue.get_nowait()
                self._remove_from_groups(channel)
                if queue.empty():
                    self.channels.pop(channel, None)

    def _clean_expired_memberships(self):
        """Channels' own second half: memberships older than `group_expiry` end."""
        timeout = int(time.time()) - self.group_expiry
        for channels in self.groups.values():
            for name, timestamp in list(channels.items()):
                if timestamp and timestamp < timeout:
                    channels.pop(name, None)
