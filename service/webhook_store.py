"""The Redis reads and writes of webhook delivery (service/webhooks.py).

Key names come from `service.keys.Keys` only; Redis failures become `StoreUnavailable`, as in
`service.store`. Nothing stored here holds personal data: events, retry records, dead letters and
the delivery log carry ids, states, URLs and HTTP results; the comment itself is read afresh for
each attempt, so an erasure is never undone by a delivery waiting to be retried.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import redis

from service.event_stream import EventGroup
from service.store import Store, _decoded, _guarded, _script_source, _text

# The consumer group every webhook worker reads the events stream through.
GROUP = "webhooks"
# The delivery log keeps about this many attempts; the dead-letter list at most this many.
LOG_LENGTH = 100_000
DEAD_LETTERS_KEPT = 100_000
# How long a finished delivery is remembered, so a redelivered event does not POST it again.
FINISHED_SECONDS = 7 * 24 * 3600


@dataclasses.dataclass(frozen=True)
class Retry:
    """A delivery waiting for another attempt: which event, to which URL, attempts so far; a
    `purge` is a CDN purge call, not a signed webhook POST."""

    delivery_id: str
    event_id: str
    event: dict[str, str]
    url: str
    attempts: int
    purge: bool = False

    def dumps(self) -> str:
        """Serialize for the retry records hash (the delivery id is the field)."""
        record: dict[str, Any] = {
            "event_id": self.event_id,
            "event": self.event,
            "url": self.url,
            "n": self.attempts,
        }
        if self.purge:
            record["purge"] = True
        return json.dumps(record)

    @classmethod
    def loads(cls, delivery_id: str, raw: str) -> Retry:
        """Read back what `dumps` wrote."""
        record = json.loads(raw)
        return cls(
            delivery_id,
            record["event_id"],
            record["event"],
            record["url"],
            record["n"],
            bool(record.get("purge")),
        )


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One POST of a delivery, as the delivery log keeps it."""

    delivery_id: str
    event_id: str
    event_type: str
    url: str
    attempt: int
    result: str  # delivered, retry or dead
    status: int | None
    error: str
    duration_ms: int
    at: str

    def fields(self) -> dict[str, str]:
        """The log entry's fields."""
        entry = {name: str(value) for name, value in dataclasses.asdict(self).items()}
        entry["status"] = "" if self.status is None else str(self.status)
        return entry


class WebhookStore(EventGroup):
    """Read comment events through the consumer group; keep retries, dead letters and the log."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, GROUP)
        self._lease = self.client.register_script(_script_source("webhook_lease", transition=False))

    # --- deliveries -----------------------------------------------------------------------
    @_guarded
    def is_settled(self, delivery_id: str) -> bool:
        """Tell whether a delivery is finished (delivered or dead) or owned by the schedule."""
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(self.keys.webhook_finished(delivery_id))
        pipe.hexists(self.keys.webhook_retry_records(), delivery_id)
        finished, scheduled = pipe.execute()
        return bool(finished) or bool(scheduled)

    @_guarded
    def lease_due(self, now_ms: int, lease_ms: int, count: int) -> list[Retry]:
        """Take up to `count` due retries for `lease_ms`: no other worker tries them meanwhile."""
        reply = self._lease(
            keys=[self.keys.webhook_retries(), self.keys.webhook_retry_records()],
            args=[now_ms, now_ms + lease_ms, count],
        )
        return [
            Retry.loads(_text(reply[index]), _text(reply[index + 1]))
            for index in range(0, len(reply), 2)
        ]

    @_guarded
    def next_due_ms(self) -> int | None:
        """When the earliest scheduled retry is due (ms), if any."""
        first = self.client.zrange(self.keys.webhook_retries(), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    @_guarded
    def delivered(self, delivery_id: str, attempt: Attempt) -> None:
        """Record a success: the delivery is finished and leaves the schedule."""
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.webhook_finished(delivery_id), "delivered", ex=FINISHED_SECONDS)
        self._unschedule(pipe, delivery_id)
        self._log(pipe, attempt)
        pipe.execute()

    @_guarded
    def schedule(self, retry: Retry, due_ms: int, attempt: Attempt) -> None:
        """Record a failure with attempts left: the schedule owns the delivery until `due_ms`."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.webhook_retry_records(), retry.delivery_id, retry.dumps())
        pipe.zadd(self.keys.webhook_retries(), {retry.delivery_id: due_ms})
        self._log(pipe, attempt)
        pipe.execute()

    @_guarded
    def dead_letter(self, retry: Retry, attempt: Attempt) -> None:
        """Record the last failure: the delivery is finished and goes to the dead-letter list."""
        letter = {
            "delivery_id": retry.delivery_id,
            "event_id": retry.event_id,
            **retry.event,
            "url": retry.url,
            "attempts": retry.attempts,
            "last_status": attempt.status,
            "last_error": attempt.error,
            "at": attempt.at,
        }
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.keys.webhook_finished(retry.delivery_id), "dead", ex=FINISHED_SECONDS)
        self._unschedule(pipe, retry.delivery_id)
        pipe.lpush(self.keys.webhook_dead_letters(), json.dumps(letter))
        pipe.ltrim(self.keys.webhook_dead_letters(), 0, DEAD_LETTERS_KEPT - 1)
        self._log(pipe, attempt)
        pipe.execute()

    def _unschedule(self, pipe: redis.client.Pipeline, delivery_id: str) -> None:
        pipe.zrem(self.keys.webhook_retries(), delivery_id)
        pipe.hdel(self.keys.webhook_retry_records(), delivery_id)

    def _log(self, pipe: redis.client.Pipeline, attempt: Attempt) -> None:
        pipe.xadd(
            self.keys.webhook_log(),
            dict(attempt.fields().items()),
            maxlen=LOG_LENGTH,
            approximate=True,
        )

    # --- for operators and tests ----------------------------------------------------------
    @_guarded
    def log_entries(self, count: int = 1000) -> list[dict[str, str]]:
        """The latest delivery attempts, oldest first."""
        entries = self.client.xrevrange(self.keys.webhook_log(), "+", "-", count=count) or []
        return [_decoded(fields) for _, fields in reversed(entries)]

    @_guarded
    def dead_letters(self, count: int = 1000) -> list[dict[str, Any]]:
        """The latest dead letters, newest first."""
        letters = self.client.lrange(self.keys.webhook_dead_letters(), 0, count - 1)
        return [json.loads(_text(letter)) for letter in letters]

    @_guarded
    def scheduled(self) -> list[Retry]:
        """Every delivery waiting for another attempt."""
        records = self.client.hgetall(self.keys.webhook_retry_records())
        return [Retry.loads(_text(key), _text(value)) for key, value in records.items()]
