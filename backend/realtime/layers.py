"""The channel layers: the in-memory one of the embedded setup, made to scale to a station's worth
of sockets, and channels_redis's with batched sends and reads (the distributed setup, below).

Channels' InMemoryChannelLayer walks every channel and group looking for expired messages on every
send and receive; with a thousand firefighters connected that walk dominates the time to deliver
an alert. Expiry is measured in seconds (messages expire after 60 s), so doing it at most once a
second loses nothing.

The walk over group memberships is the longer half (each socket is in three groups): at 10,000
sockets the whole walk took about 10 ms of the event loop every second. A membership expires only
after `group_expiry` (a day), so that half runs once a minute: a membership a day old is dropped
up to a minute later, and the loop's stop is left to the channels' half.
"""

import asyncio
import collections
import logging
import random
import time
from copy import deepcopy

import msgpack
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from channels_redis.serializers import MsgPackSerializer

logger = logging.getLogger(__name__)


class ThrottledInMemoryChannelLayer(InMemoryChannelLayer):
    clean_interval_seconds = 1.0  # messages expire after `expiry` (60 s)
    group_clean_interval_seconds = 60.0  # memberships expire after `group_expiry` (a day)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0
        self._groups_cleaned_at = 0.0

    async def group_send_many(self, messages: list[tuple[str, dict]]) -> None:
        self.group_send_many_nowait(messages)

    def group_send_many_nowait(self, messages: list[tuple[str, dict]]) -> None:
        """(group, message) pairs onto every member's queue, in order, at once (backend/broadcast.py
        calls it on the event loop as soon as a commit hands a batch over). Channels' group_send
        makes a task per member and waits for them, so a dispatch's twenty sends took two more
        turns of the loop, each of which could wait for the request's thread (issue 17). What is
        sent is what channels' `send` sends: a copy of the message, dropped for a full channel."""
        self._clean_expired()
        expires = time.time() + self.expiry
        for group, message in messages:
            assert isinstance(message, dict), "Message is not a dict"
            self.require_valid_group_name(group)
            for channel in self.groups.get(group, {}):
                queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
                if not queue.full():  # as channels' group_send: a full channel misses it (the database has it)
                    queue.put_nowait((expires, deepcopy(message)))

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


class BatchedRedisChannelLayer(RedisChannelLayer):
    """channels_redis's layer (4.3), with a batch of group sends made in two round trips to Redis
    and the messages waiting for this process read in one.

    channels_redis sends to a group in four round trips (the group's stale members dropped, its
    members read, their channels' expired messages dropped, then a script that adds the message),
    so a dispatch's twenty sends were eighty commands and 9.9 ms of the event loop; and a process
    reads the messages for its sockets one at a time, each in four more (the backup queue restored,
    a blocking pop, the message backed up, the backup cleared), so the twenty frames reached the
    other process's sockets 26 ms after the commit (issue 17, bench/dispatch_latency.py --probe).
    Here `group_send_many` (backend/broadcast.py) reads every group's members in one pipeline and
    adds every message in one script, in the batch's order; and a receive takes everything waiting
    (up to RECEIVE_BATCH) in one script, backed up as channels_redis backs up one. The keys, the
    messages and what they hold are channels_redis's, so a process of the version before reads
    what this one sends, and the other way round."""

    RECEIVE_BATCH = 100

    async def group_send_many(self, messages: list[tuple[str, dict]]) -> None:
        if self._in_one_script():
            await self._group_send_in_one_script(messages)
            return
        by_host: dict[int, list[tuple[str, dict]]] = collections.defaultdict(list)
        for group, message in messages:
            assert isinstance(message, dict), "message is not a dict"
            assert self.require_valid_group_name(group), "Group name not valid"
            by_host[self.consistent_hash(group)].append((group, message))
        hosts = list(by_host.items())
        members = await asyncio.gather(*(self._members(index, [group for group, _ in pairs]) for index, pairs in hosts))
        pushes: dict[int, list[tuple[bytes, bytes, int]]] = collections.defaultdict(list)
        for (_, pairs), names_of_groups in zip(hosts, members, strict=True):
            for (_, message), channel_names in zip(pairs, names_of_groups, strict=True):
                if not channel_names:
                    continue
                keys_by_host, message_of_key, capacity_of_key = self._map_channel_keys_to_connection(
                    channel_names, message
                )
                for index, keys in keys_by_host.items():
                    pushes[index].extend((key, message_of_key[key], capacity_of_key[key]) for key in keys)
        over_capacity = await asyncio.gather(*(self._push(index, entries) for index, entries in pushes.items()))
        if sum(over_capacity):
            logger.info("%d of %d messages dropped: their channels were full", sum(over_capacity), len(messages))

    def _in_one_script(self) -> bool:
        """One Redis (so every group and channel key on the same server), messages in msgpack
        unencrypted, one capacity for every channel: the sends of a batch fit in one script."""
        return (
            self.ring_size == 1
            and isinstance(self._serializer, MsgPackSerializer)
            and self._serializer.crypter is None
            and not self.channel_capacity
        )

    async def _group_send_in_one_script(self, messages: list[tuple[str, dict]]) -> None:
        """The batch in one round trip (was two: the groups' members read, then the messages added
        to their channels' keys; a turn of the event loop each, issue 17): one script reads each
        group's members (stale ones dropped first) and adds the message to each member's channel
        key, as channels_redis's group_send does: one message per channel key (a process's sockets
        share their process's key), naming the key's channels in "__asgi_channel__", with the
        serializer's random prefix, to at most `capacity` waiting messages; in the batch's order.
        The message is encoded here, once per group, up to that last field, which the script
        writes (msgpack: the map's header counts it, the channels follow as an array of strings),
        so a receiver decodes exactly what channels_redis would have sent. The channel keys are
        found inside the script, which a single Redis allows (the layer is then never a cluster's)."""
        for group, message in messages:
            assert isinstance(message, dict), "message is not a dict"
            assert self.require_valid_group_name(group), "Group name not valid"
        now = time.time()
        packer = msgpack.Packer(use_bin_type=True)
        prefix_length = self._serializer.random_prefix_length
        args = []
        for _, message in messages:
            encoded = [packer.pack_map_header(len(message) + 1)]
            for key, value in message.items():
                encoded += [packer.pack(key), packer.pack(value)]
            encoded.append(packer.pack("__asgi_channel__"))
            args.append(b"".join(encoded))
            args.append(random.getrandbits(8 * prefix_length).to_bytes(prefix_length, "big") if prefix_length else b"")
        args += [
            self.prefix,
            self.capacity,
            int(self.expiry),
            int(now) - int(self.expiry),
            int(now) - self.group_expiry,
            int(now * 1_000_000),  # in microseconds: whole numbers, exact in the script's doubles
        ]
        connection = self.connection(0)
        script = connection.register_script(_SEND_SCRIPT)
        over_capacity = int(await script(keys=[self._group_key(group) for group, _ in messages], args=args))
        if over_capacity:
            logger.info("%d of %d messages dropped: their channels were full", over_capacity, len(messages))

    async def _members(self, index: int, groups: list[str]) -> list[list[str]]:
        """Each group's channels (stale memberships dropped first, as channels_redis does): one round trip."""
        cutoff = int(time.time()) - self.group_expiry
        pipe = self.connection(index).pipeline(transaction=False)
        for group in groups:
            key = self._group_key(group)
            pipe.zremrangebyscore(key, min=0, max=cutoff)
            pipe.zrange(key, 0, -1)
        replies = await pipe.execute()
        return [[name.decode("utf8") for name in replies[2 * n + 1]] for n in range(len(groups))]

    async def _push(self, index: int, entries: list[tuple[bytes, bytes, int]]) -> int:
        """Add each message to its channel key, in order: one round trip. Returns how many were dropped."""
        now = time.time()
        keys = [key for key, _, _ in entries]
        # Scores a microsecond apart keep the batch's order (channels_redis gives each send's the
        # same, and Redis orders equal scores by the messages' random prefix).
        scores = [repr(now + n * 1e-6) for n in range(len(entries))]
        args = [payload for _, payload, _ in entries] + [capacity for _, _, capacity in entries] + scores
        args += [int(self.expiry), int(now) - int(self.expiry)]
        script = self.connection(index).register_script(_PUSH_SCRIPT)
        return int(await script(keys=keys, args=args))

    async def receive_single(self, channel):
        """This process's channel: everything waiting is read in one round trip; all but the last
        message go straight to their consumers' buffers (as `receive` would put them, in order) and
        the last is returned for `receive` to put there after them. Another channel: as channels_redis."""
        if "!" not in channel:
            return await super().receive_single(channel)
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        index = self.consistent_hash(channel)
        channel_key = self.prefix + channel
        await self.receive_clean_locks.acquire(channel_key)
        try:
            members = await self._pop_waiting(index, channel_key)
            while not members:  # nothing waiting: a blocking read of one, and what came with it
                members = await self._wait_for_messages(index, channel_key)
            cleaner = asyncio.ensure_future(self._forget_backed_up(index, channel_key, members))
            self.receive_cleaners.append(cleaner)

            def _cleanup_done(cleaner):
                self.receive_cleaners.remove(cleaner)
                self.receive_clean_locks.release(channel_key)

            cleaner.add_done_callback(_cleanup_done)
        except BaseException:
            self.receive_clean_locks.release(channel_key)
            raise
        received = [self._unpack(channel, member) for member in members]
        for message_channel, message in received[:-1]:
            for each in message_channel if isinstance(message_channel, list) else [message_channel]:
                self.receive_buffer[each].put_nowait(message)
        return received[-1]

    async def _pop_waiting(self, index: int, channel_key: str) -> list[bytes]:
        """Up to RECEIVE_BATCH waiting messages, oldest first, moved to the backup queue in the same
        script (so that a receive cancelled on its way back loses none: the next one restores them)."""
        script = self.connection(index).register_script(_POP_SCRIPT)
        popped = await script(keys=[channel_key, self._backup_channel_name(channel_key)], args=[self.RECEIVE_BATCH])
        return popped[0::2]

    async def _wait_for_messages(self, index: int, channel_key: str) -> list[bytes]:
        """Block until a message comes (channels_redis's blocking read, BZPOPMIN, which Redis ends
        after brpop_timeout: then []), then back it up and take, backed up too, whatever came with
        it, in one script: a dispatch's batch is added in one script, so the frames for this
        process's other sockets are already there. channels_redis backed the one up in a round
        trip of its own and left the rest to the next receive, which waited for this one's backup
        to be cleared first: the last of twenty frames reached its socket three round trips after
        the first (issue 17). The backup queue is empty here (`_pop_waiting` has just restored it
        under this channel's lock), so channels_redis's restore before each blocking read is not
        repeated; a receive cancelled between the read and the script loses the one message, as
        channels_redis's does between its read and its backup (the database has it)."""
        connection = self.connection(index)
        popped = await connection.bzpopmin(channel_key, timeout=self.brpop_timeout)
        if popped is None:
            return []
        _, member, score = popped
        script = connection.register_script(_TAKE_THE_REST_SCRIPT)
        rest = await script(
            keys=[channel_key, self._backup_channel_name(channel_key)],
            args=[member, repr(float(score)), self.RECEIVE_BATCH - 1],
        )
        return [member, *rest[0::2]]

    async def _forget_backed_up(self, index: int, channel_key: str, members: list[bytes]) -> None:
        await self.connection(index).zrem(self._backup_channel_name(channel_key), *members)

    def _unpack(self, channel: str, member: bytes):
        message = self.deserialize(member)
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        return channel, message


# KEYS: each message's channel key (repeated for several messages); ARGV: the messages, their
# channels' capacities, their scores, then the expiry and the cutoff of expired messages. As
# channels_redis's group send: expired messages dropped, a full channel's message dropped.
_PUSH_SCRIPT = """
local n = #KEYS
local expiry = ARGV[3 * n + 1]
local cutoff = ARGV[3 * n + 2]
local trimmed = {}
local over_capacity = 0
for i = 1, n do
    local key = KEYS[i]
    if not trimmed[key] then
        redis.call('ZREMRANGEBYSCORE', key, 0, cutoff)
        trimmed[key] = true
    end
    if redis.call('ZCOUNT', key, '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', key, ARGV[2 * n + i], ARGV[i])
        redis.call('EXPIRE', key, expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""

# KEYS: the channel key and its backup queue; ARGV: how many to take. channels_redis's restore of a
# backup left by a cancelled receive, then the waiting messages popped and backed up, oldest first.
_POP_SCRIPT = """
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
end
return popped
"""

# KEYS: one group key per message, in the batch's order; ARGV: per message its encoding up to the
# channels' names (see _group_send_in_one_script) and its random prefix, then the layer's prefix,
# the capacity, the expiry, the cutoff of expired messages, the cutoff of stale memberships and the
# time in microseconds. For each group: its stale members dropped, its members' channels grouped by channel key
# (the name up to its "!", or the whole name), and to each key the message naming its channels
# (a msgpack array of strings), unless the key holds `capacity` unexpired messages already. Scores
# a microsecond apart keep the batch's order.
_SEND_SCRIPT = """
local n = #KEYS
local prefix = ARGV[2 * n + 1]
local capacity = tonumber(ARGV[2 * n + 2])
local expiry = ARGV[2 * n + 3]
local message_cutoff = ARGV[2 * n + 4]
local group_cutoff = ARGV[2 * n + 5]
local now_us = tonumber(ARGV[2 * n + 6])
local function str(s)
    local length = #s
    if length < 32 then
        return string.char(0xa0 + length) .. s
    elseif length < 256 then
        return string.char(0xd9, length) .. s
    end
    return string.char(0xda, math.floor(length / 256), length % 256) .. s
end
local function array_header(count)
    if count < 16 then
        return string.char(0x90 + count)
    end
    return string.char(0xdc, math.floor(count / 256), count % 256)
end
local trimmed = {}
local sent = 0
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, group_cutoff)
    local keys, channels_of = {}, {}
    for _, channel in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
        local bang = string.find(channel, '!', 1, true)
        local key = prefix .. (bang and string.sub(channel, 1, bang) or channel)
        if not channels_of[key] then
            channels_of[key] = {}
            table.insert(keys, key)
        end
        table.insert(channels_of[key], channel)
    end
    for _, key in ipairs(keys) do
        if not trimmed[key] then
            redis.call('ZREMRANGEBYSCORE', key, 0, message_cutoff)
            trimmed[key] = true
        end
        if redis.call('ZCOUNT', key, '-inf', '+inf') < capacity then
            local names = {}
            for j, channel in ipairs(channels_of[key]) do
                names[j] = str(channel)
            end
            local payload = ARGV[2 * i] .. ARGV[2 * i - 1] .. array_header(#names) .. table.concat(names)
            local us = now_us + sent
            redis.call('ZADD', key, string.format('%d.%06d', math.floor(us / 1000000), us % 1000000), payload)
            redis.call('EXPIRE', key, expiry)
            sent = sent + 1
        else
            over_capacity = over_capacity + 1
        end
    end
end
return over_capacity
"""

# KEYS: the channel key and its backup queue; ARGV: the message a blocking read took, its score, and
# how many more to take. The one backed up, then the waiting messages popped and backed up, oldest
# first (what _POP_SCRIPT does, without the restore: the backup queue was empty before the read).
_TAKE_THE_REST_SCRIPT = """
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[3])
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
end
return popped
"""
