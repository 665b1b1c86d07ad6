"""The in-memory channel layer of the embedded setup, made to scale to a station's worth of sockets.

Channels' InMemoryChannelLayer walks every channel and group looking for expired messages on every
send and receive; with a thousand firefighters connected that walk dominates the time to deliver
an alert. Expiry is measured in seconds (messages expire after 60 s), so doing it at most once a
second loses nothing.
"""

import time

from channels.layers import InMemoryChannelLayer


class ThrottledInMemoryChannelLayer(InMemoryChannelLayer):
    clean_interval_seconds = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval_seconds:
            return
        self._cleaned_at = now
        super()._clean_expired()
