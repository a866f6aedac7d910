"""Consumer groups on the comment events streams: each kind of worker reads them through its own.

Events are written in the same step as the comment they tell of, so there is one stream per
bucket (see `service.keys`). A group reads every bucket's stream in one pipeline; an event is
named site-wide by its position, `<ms>-<seq>-<bucket>`.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from service.keys import BUCKETS
from service.store import (
    Store,
    _decoded,
    _guarded,
    _text,
    parse_stream_position,
    stream_position,
)

# A stream entry: its site-wide position and its fields.
Event = tuple[str, dict[str, str]]
# While waiting for new events, the streams are read again this often.
POLL_SECONDS = 0.1


class EventGroup:
    """Read comment events through one consumer group, so each is handled once per group."""

    def __init__(self, store: Store, group: str) -> None:
        self.client = store.client
        self.keys = store.keys
        self.group = group

    def stream(self, position: str) -> str:
        """Name the stream an event position belongs to."""
        return self.keys.events(parse_stream_position(position)[2])

    @_guarded
    def ensure_group(self) -> None:
        """Create the consumer group on every bucket's stream from its start (events written
        before it count)."""
        pipe = self.client.pipeline(transaction=False)
        for bucket in range(BUCKETS):
            pipe.xgroup_create(self.keys.events(bucket), self.group, id="0", mkstream=True)
        for answer in pipe.execute(raise_on_error=False):
            if isinstance(answer, Exception) and "BUSYGROUP" not in str(answer):
                raise answer

    @_guarded
    def read(
        self, consumer: str, count: int, block_ms: int | None, *, own: bool = False
    ) -> list[Event]:
        """Read up to `count` events per bucket never delivered to the group (waiting up to
        `block_ms` for one), or with `own` the events this consumer took earlier and has not
        acknowledged."""
        deadline = time.monotonic() + (block_ms or 0) / 1000
        while True:
            pipe = self.client.pipeline(transaction=False)
            for bucket in range(BUCKETS):
                pipe.xreadgroup(
                    self.group, consumer, {self.keys.events(bucket): "0" if own else ">"}, count
                )
            events = [
                _event(bucket, entry)
                for bucket, reply in enumerate(pipe.execute())
                for entries in _streams(reply)
                for entry in _flatten(entries)
            ]
            remaining = deadline - time.monotonic()
            if events or own or remaining <= 0:
                return events
            time.sleep(min(POLL_SECONDS, remaining))

    @_guarded
    def claim_stale(
        self, consumer: str, min_idle_ms: int, cursor: str, count: int
    ) -> tuple[str, list[Event]]:
        """Take over events another consumer took over `min_idle_ms` ago without acknowledging
        them (it died or hangs), one bucket after another; answer the cursor to go on from
        (`<bucket>/<entry id>`; "0-0" after the last bucket) and the events."""
        bucket, _, start = cursor.partition("/")
        number = int(bucket) if start else 0
        start = start or "0-0"
        reply: Any = self.client.xautoclaim(
            self.keys.events(number), self.group, consumer, min_idle_ms, start_id=start, count=count
        )
        following = _text(reply[0])
        events = [_event(number, entry) for entry in reply[1] if entry[0] is not None]
        if following != "0-0":
            return f"{number}/{following}", events
        return (f"{number + 1}/0-0" if number + 1 < BUCKETS else "0-0"), events

    @_guarded
    def ack(self, position: str) -> None:
        """Acknowledge an event: every URL has it, or the retry schedule owns it."""
        ms, seq, _ = parse_stream_position(position)
        self.client.xack(self.stream(position), self.group, f"{ms}-{seq}")

    @_guarded
    def forget_idle_consumers(self, idle_ms: int) -> int:
        """Remove consumers idle for `idle_ms` that hold no events (workers long gone)."""
        removed = 0
        for bucket in range(BUCKETS):
            stream = self.keys.events(bucket)
            try:
                consumers = self.client.xinfo_consumers(stream, self.group)
            except redis.ResponseError:
                continue  # no such stream or group yet
            for consumer in consumers:
                # `inactive` is -1 on a bucket's stream it never got an event from: use `idle`.
                idle = max(int(consumer.get("inactive", -1)), int(consumer.get("idle", 0)))
                if int(consumer.get("pending", 0)) == 0 and idle > idle_ms:
                    removed += 1
                    self.client.xgroup_delconsumer(stream, self.group, _text(consumer["name"]))
        return removed


def _streams(reply: Any) -> list[Any]:
    """The entries of each stream in an XREADGROUP reply (RESP2 list or RESP3 map)."""
    if not reply:
        return []
    return list(reply.values()) if isinstance(reply, dict) else [item[1] for item in reply]


def _flatten(entries: Any) -> list[Any]:
    """Stream entries as (id, fields) pairs, skipping entries trimmed away meanwhile."""
    return [entry for entry in entries or [] if entry and entry[0] is not None]


def _event(bucket: int, entry: Any) -> Event:
    return stream_position(bucket, _text(entry[0])), _decoded(entry[1] or {})
