"""Consumer groups on the comment events stream: each kind of worker reads it through its own."""

from __future__ import annotations

from typing import Any

import redis

from service.store import Store, _decoded, _guarded, _text

# A stream entry: its id and its fields.
Event = tuple[str, dict[str, str]]


class EventGroup:
    """Read comment events through one consumer group, so each is handled once per group."""

    def __init__(self, store: Store, group: str) -> None:
        self.client = store.client
        self.keys = store.keys
        self.group = group

    @_guarded
    def ensure_group(self) -> None:
        """Create the consumer group from the stream's start (events written before it count)."""
        try:
            self.client.xgroup_create(self.keys.events(), self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    @_guarded
    def read(
        self, consumer: str, count: int, block_ms: int | None, *, own: bool = False
    ) -> list[Event]:
        """Read events never delivered to the group (waiting up to `block_ms`), or with `own`
        the events this consumer took earlier and has not acknowledged."""
        reply: Any = self.client.xreadgroup(
            self.group,
            consumer,
            {self.keys.events(): "0" if own else ">"},
            count=count,
            block=block_ms,
        )
        if not reply:
            return []
        streams = reply.values() if isinstance(reply, dict) else [item[1] for item in reply]
        return [_event(entry) for entries in streams for entry in _flatten(entries)]

    @_guarded
    def claim_stale(
        self, consumer: str, min_idle_ms: int, cursor: str, count: int
    ) -> tuple[str, list[Event]]:
        """Take over events another consumer took over `min_idle_ms` ago without acknowledging
        them (it died or hangs); answer the cursor to go on from ("0-0": the end) and the events."""
        reply: Any = self.client.xautoclaim(
            self.keys.events(), self.group, consumer, min_idle_ms, start_id=cursor, count=count
        )
        return _text(reply[0]), [_event(entry) for entry in reply[1] if entry[0] is not None]

    @_guarded
    def ack(self, event_id: str) -> None:
        """Acknowledge an event: every URL has it, or the retry schedule owns it."""
        self.client.xack(self.keys.events(), self.group, event_id)

    @_guarded
    def forget_idle_consumers(self, idle_ms: int) -> int:
        """Remove consumers idle for `idle_ms` that hold no events (workers long gone)."""
        removed = 0
        for consumer in self.client.xinfo_consumers(self.keys.events(), self.group):
            idle = int(consumer.get("inactive", consumer.get("idle", 0)))
            if int(consumer.get("pending", 0)) == 0 and idle > idle_ms:
                name = _text(consumer["name"])
                removed += 1
                self.client.xgroup_delconsumer(self.keys.events(), self.group, name)
        return removed


def _flatten(entries: Any) -> list[Any]:
    """Stream entries as (id, fields) pairs, skipping entries trimmed away meanwhile."""
    return [entry for entry in entries or [] if entry and entry[0] is not None]


def _event(entry: Any) -> Event:
    return _text(entry[0]), _decoded(entry[1] or {})
