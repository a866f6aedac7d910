"""The spam filter's Redis calls: read a comment's slot counts, learn and unlearn atomically.

Every key carries the `{spam-filter}` hash tag (see `service.keys`), so each step below touches
one hash slot and works on a Redis Cluster. What the filter keeps:

* `slots:<shard>`: 8192 hashes of at most 128 fields each (compact listpacks), slot within the
  shard -> "<spam weight>:<legitimate weight>:<comments>". At most 2**20 slots in all.
* `totals`: learned comments and summed weights per class, and the number of slots in use.
* `records` and `record-order`: for each of the `max_records` most recently learned comments (the
  `filter_undoable` setting), its label and slots (never its text) in a few bytes (the forms
  are in `service.spam_filter`; a record is no text, so it is read undecoded), so a reversed
  decision subtracts exactly what it added; an older decision reversed adds the new label only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.client import NEVER_DECODE, Pipeline
from redis.cluster import ClusterPipeline, RedisCluster

from service import pipelined_scripts
from service.keys import Keys
from service.pipelined_scripts import ScriptCall, queue_script
from service.spam_filter import ALPHA, SHARD_SIZE, WEIGHT_SCALE, Totals
from service.store import _guarded
from service.topology import RedisClient

LEARN_ATTEMPTS = 5


def _script(name: str) -> str:
    return resources.files("service").joinpath("lua", f"{name}.lua").read_text()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _record(client: RedisClient | Pipeline | ClusterPipeline, key: str, comment_id: str) -> Any:
    """HGET a learned record as the bytes stored, even from a client that decodes answers: a
    record is binary, no text."""
    # redis-py leaves execute_command untyped on some of these classes.
    return client.execute_command(  # type: ignore[no-untyped-call]
        "HGET", key, comment_id, **{NEVER_DECODE: []}
    )


class SpamFilterStore:
    """Read and change what the spam filter learned; knows nothing of HTTP."""

    def __init__(self, client: RedisClient, keys: Keys, max_records: int) -> None:
        self.client = client
        self.keys = keys
        self.max_records = max_records
        self._learn = client.register_script(_script("spam_learn"))
        self._score = client.register_script(_script("spam_score"))

    def score_call(self, slots: Sequence[int]) -> ScriptCall:
        """The read that scores a comment's slots where their counts are (lua/spam_score.lua),
        as a call that can ride in another read's round trip; `parse_score` its answer."""
        return ScriptCall(
            self._score,
            [self.keys.spam_filter_totals()],
            [
                self.keys.spam_filter_shards(),
                " ".join(map(str, sorted(slots))),
                SHARD_SIZE,
                WEIGHT_SCALE,
                ALPHA,
            ],
        )

    @staticmethod
    def parse_score(answer: Sequence[Any]) -> tuple[Totals, float, float]:
        """Read the answer of a `score_call`: the totals, the evidence sum and the sum of
        squared rarities."""
        totals = Totals(*(int(value) for value in answer[:5]))
        return totals, float(answer[5]), float(answer[6])

    @_guarded
    def totals(self) -> Totals:
        """Read what the filter learned overall."""
        fields = ("spam_comments", "ham_comments", "spam_weight", "ham_weight", "slots_used")
        values = self.client.hmget(self.keys.spam_filter_totals(), fields)
        return Totals(*(int(value or 0) for value in values))

    @_guarded
    def record(self, comment_id: str) -> bytes:
        """Read what was learned from a comment (empty: nothing, or no longer undoable)."""
        return _record(self.client, self.keys.spam_filter_records(), comment_id) or b""

    @_guarded
    def comment_and_record(self, article_id: str, comment_id: str) -> tuple[str | None, bytes]:
        """Read a comment's stored record (None: none) and what was learned from it, in one
        pipeline (one round trip on one server)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self.keys.comments(article_id), comment_id)
        _record(pipe, self.keys.spam_filter_records(), comment_id)
        raw, learned = pipe.execute()
        return (_text(raw) if raw is not None else None), learned or b""

    @_guarded
    def replace(
        self, comment_id: str, expected: bytes | None, record: bytes, keep: bool = True
    ) -> str:
        """Swap what was learned from a comment (`expected`, as read; None: whatever is there
        now) for `record` in one step; answer "conflict" when it changed meanwhile, "unchanged"
        or "learned". An empty comment id learns a labelled example that is no comment, for
        good."""
        return _text(
            self._learn(
                keys=self._learn_keys(),
                args=self._learn_args(comment_id, expected, record, keep),
            )
        )

    @_guarded
    def replace_and_read(
        self, article_id: str, comment_id: str, record: bytes
    ) -> tuple[str, str | None, bytes]:
        """Swap whatever was learned from a comment for `record`, then read the comment's stored
        record and what was learned from it, as `comment_and_record` does: in one round trip on
        one server (the reads follow the swap in one pipeline), two on a cluster."""
        if isinstance(self.client, RedisCluster):
            outcome = self.replace(comment_id, None, record)
            return outcome, *self.comment_and_record(article_id, comment_id)

        def build(pipe: Any) -> None:
            queue_script(
                pipe,
                self._learn,
                self._learn_keys(),
                self._learn_args(comment_id, None, record, True),
            )
            pipe.hget(self.keys.comments(article_id), comment_id)
            _record(pipe, self.keys.spam_filter_records(), comment_id)

        outcome, raw, learned = pipelined_scripts.execute(self.client, [self._learn], build)
        return _text(outcome), (_text(raw) if raw is not None else None), learned or b""

    @_guarded
    def learn_examples(self, records: Sequence[bytes]) -> None:
        """Learn labelled examples that are no comments (training files): pipelined on one
        server; one by one on a cluster, which takes no scripts in a pipeline."""
        if isinstance(self.client, RedisCluster):
            for record in records:
                self.replace("", b"", record, keep=False)
            return
        pipe = self.client.pipeline(transaction=False)
        keys = self._learn_keys()
        for record in records:
            self._learn(keys=keys, args=self._learn_args("", b"", record, keep=False), client=pipe)
        pipe.execute()

    def _learn_keys(self) -> list[str]:
        return [
            self.keys.spam_filter_records(),
            self.keys.spam_filter_record_order(),
            self.keys.spam_filter_totals(),
        ]

    def _learn_args(
        self, comment_id: str, expected: bytes | None, record: bytes, keep: bool
    ) -> list[Any]:
        return [
            comment_id,
            b"*" if expected is None else expected,
            record,
            int(time.time() * 1000) if comment_id else 0,
            self.max_records,
            self.keys.spam_filter_shards(),
            "1" if keep else "0",
            SHARD_SIZE,
        ]
