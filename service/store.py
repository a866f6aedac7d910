"""Every Redis command the comment service sends: reads, pipelines and the Lua transitions.

Each Lua step touches the keys of one article and its bucket's share of the site-wide indexes:
one hash slot (see `service.keys`). A site-wide read asks every bucket in one pipeline (one round
trip per node on a cluster) and merges the answers.
"""

from __future__ import annotations

import functools
import heapq
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis
from redis.cluster import RedisCluster

from service import pipelined_scripts, records
from service.durability import DurableWrites
from service.keys import (
    BUCKETS,
    COMMENT_ID_LENGTH,
    LAYOUT,
    Keys,
    article_bucket,
    comment_bucket,
)
from service.models import Act, Comment, Status
from service.pipelined_scripts import ScriptCall, queue_script
from service.topology import RedisClient

log = logging.getLogger(__name__)

# The audit stream keeps about this many entries per bucket (each well under 1 KiB).
AUDIT_LENGTH = 1_000_000 // BUCKETS
# Comment events waiting for delivery: about this many are kept per bucket while no worker reads.
EVENTS_LENGTH = 1_000_000 // BUCKETS

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """Redis did not answer, or refused the command; the reason names no key."""


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Turn any Redis failure into StoreUnavailable, so no caller sees a key name."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as error:
            raise StoreUnavailable(type(error).__name__) from error

    return wrapper


def _script_source(name: str, *, transition: bool = True, email_index: bool = False) -> str:
    """Give a script's Lua source; a transition's comes after the helpers transitions share,
    and a step that changes the email index after its helpers."""
    folder = resources.files("service").joinpath("lua")
    helpers = [
        *(["_email_index"] if email_index else []),
        *(["_publication"] if transition else []),
    ]
    shared = "".join(folder.joinpath(f"{helper}.lua").read_text() for helper in helpers)
    return shared + folder.joinpath(f"{name}.lua").read_text()


def stream_position(bucket: int, entry_id: str) -> str:
    """Name a bucket's stream entry site-wide: `<ms>-<seq>-<bucket>`."""
    return f"{entry_id}-{bucket}"


def parse_stream_position(position: str) -> tuple[int, int, int]:
    """Read `<ms>-<seq>[-<bucket>]` as a sortable (ms, seq, bucket)."""
    parts = position.split("-")
    ms, seq = int(parts[0]), int(parts[1])
    return ms, seq, int(parts[2]) if len(parts) > 2 else BUCKETS


def _with_sums(answers: list[Any]) -> list[Any]:
    """Sum the per-bucket answers of the facts pipeline: approved by the email, then pending."""
    head, approved, pending = answers[:8], answers[8 : 8 + BUCKETS], answers[8 + BUCKETS :]
    return [
        *head,
        sum(int(count or 0) for count in approved),
        sum(int(count) for count in pending),
    ]


def _facts(
    article: Any,
    email_blocked: Any,
    domains: Any,
    networks: Any,
    ip_wait: Any,
    email_wait: Any,
    original: Any,
    network_pending: Any,
    approved: Any,
    pending: Any,
) -> AdmissionFacts:
    """Give the admission facts of what was read (see lua/admission_facts.lua)."""
    if isinstance(article, list):  # HGETALL inside a script answers a flat list
        article = dict(zip(article[0::2], article[1::2], strict=True))
    return AdmissionFacts(
        article=_decoded(article),
        email_blocked=bool(email_blocked),
        blocked_domains=frozenset(_text(domain) for domain in domains),
        blocked_networks=frozenset(_text(network) for network in networks),
        flood_wait_ms=max(int(ip_wait), int(email_wait), 0),
        duplicate_of=_text(original) if original else None,
        approved_by_author=int(approved),
        pending=int(pending),
        network_pending=int(network_pending) // COMMENT_ID_LENGTH,
    )


@dataclass(frozen=True)
class Locator:
    """Where a comment lives: what its key names need, fixed when it is written."""

    article_id: str
    root_id: str
    parent_id: str | None

    @classmethod
    def of(cls, comment: Comment) -> Locator:
        """Give where a comment lives."""
        return cls(comment.article_id, comment.root_id, comment.parent_id)

    @property
    def bucket(self) -> int:
        """The bucket of the comment's article."""
        return article_bucket(self.article_id)

    @property
    def root_ms(self) -> int:
        """When the comment's thread started (ms): its top-level comment's creation."""
        return records.created_ms_of(self.root_id)

    def dumps(self, comment_id: str) -> str:
        """Serialize for the locator hash: the article id alone for a top-level comment, else
        the article, root and parent ids, space-separated (article ids hold no space)."""
        if self.root_id == comment_id and self.parent_id is None:
            return self.article_id
        return f"{self.article_id} {self.root_id} {self.parent_id or ''}"

    @classmethod
    def loads(cls, comment_id: str, raw: str) -> Locator:
        """Read back what `dumps` wrote (or, until the migration packs it, the JSON list of
        the layout before packed records)."""
        if raw.startswith("["):
            article_id, root_id, _, parent_id, *_ = json.loads(raw)
            return cls(article_id, root_id, parent_id)
        article_id, _, rest = raw.partition(" ")
        if not rest:
            return cls(article_id, comment_id, None)
        root_id, _, parent_id = rest.partition(" ")
        return cls(article_id, root_id, parent_id or None)


@dataclass(frozen=True)
class Outcome:
    """What a transition script answered: its verdict and, for some, a detail."""

    verdict: str
    detail: str | None = None


@dataclass(frozen=True)
class FloodMarks:
    """The marks a new comment leaves on its client's IP and email for `ms` milliseconds."""

    keys: tuple[str, ...]
    ms: int


@dataclass(frozen=True)
class PendingMark:
    """Where a new pending comment is counted against its network's share of the queue, and
    how long an entry may stay there (past it, the purge would have removed the comment)."""

    key: str
    keep_ms: int


@dataclass(frozen=True)
class AdmissionFacts:
    """What the store knows that the submission rules ask about."""

    article: dict[str, str]
    email_blocked: bool
    blocked_domains: frozenset[str]
    blocked_networks: frozenset[str]
    flood_wait_ms: int
    duplicate_of: str | None
    approved_by_author: int
    pending: int
    # Entries in the sender network's pending list: an upper bound (it may hold ids decided
    # since), made exact by `pending_from` when it reaches the share.
    network_pending: int = 0


@dataclass(frozen=True)
class Thread:
    """A top-level comment's record with its replies' records, oldest first."""

    root: dict[str, str]
    replies: list[dict[str, str]]


class Store:
    """Read and change comments in Redis; knows nothing of HTTP."""

    def __init__(
        self, client: RedisClient, keys: Keys, events: bool = False, durability: str = "none"
    ) -> None:
        self.client = client
        self.keys = keys
        self.durability = durability
        self.writes = DurableWrites(client, durability)
        # Comment and article.changed events are written only when some receiver wants them
        # (webhooks, moderator email, CDN purges).
        self.events_kept = EVENTS_LENGTH if events else 0
        self._submit = client.register_script(_script_source("submit", email_index=True))
        self._decide = client.register_script(_script_source("decide"))
        self._delete = client.register_script(_script_source("delete", email_index=True))
        self._edit = client.register_script(_script_source("edit", transition=False))
        self._add_pending = client.register_script(_script_source("note_pending", transition=False))
        self._published_counts = client.register_script(
            _script_source("published_counts", transition=False)
        )
        self._admission_facts = client.register_script(
            _script_source("admission_facts", transition=False)
        )
        self._trim_pending = client.register_script(
            _script_source("trim_pending", transition=False)
        )
        # The key check value to store, once, before the first write (see `sealed_with`).
        self.seal_on_write: str | None = None
        self._layout_noted = False

    @property
    def is_cluster(self) -> bool:
        """Tell whether the store talks to a Redis Cluster."""
        return isinstance(self.client, RedisCluster)

    # --- writes -------------------------------------------------------------------------
    def _transition_keys(self, comment_id: str, locator: Locator) -> list[str]:
        """The KEYS every transition script starts with (see lua/_publication.lua)."""
        keys, article_id, bucket = self.keys, locator.article_id, locator.bucket
        return [
            keys.comments(article_id),
            *keys.queues(bucket),
            *keys.article_statuses(article_id),
            keys.roots(article_id),
            keys.live(article_id),
            keys.thread(article_id, locator.root_id),
            keys.version(article_id),
            keys.published_counts(bucket),
            keys.approved_by_email(bucket),
        ]

    def _transition_args(
        self, comment_id: str, locator: Locator, email_hash: str = ""
    ) -> list[str | int]:
        """The ARGV every transition script starts with."""
        return [
            comment_id,
            locator.root_id,
            locator.root_ms,
            records.created_ms_of(comment_id),
            secrets.token_hex(8),
            locator.article_id,
            email_hash,
        ]

    @_guarded
    def add(
        self,
        comment: Comment,
        sealed_private: bytes,
        locator: Locator,
        flood: FloodMarks | None,
        any_parent: bool = False,
        pending_mark: PendingMark | None = None,
    ) -> Outcome:
        """Store a new comment once, in its state; refuse a flood or a duplicate atomically.

        The flood marks are per client, in other slots than the comment: they are claimed first
        (SET NX, so of two racing comments from one client only one passes) and given back when
        the comment is not stored. A pending comment is noted in its network's pending list
        (`pending_mark`, in another slot too) in the same round trip as the store on one server,
        whatever the store answers: an id that was not stored is trimmed by the next count
        (`pending_from`), as a decided one is. The comment stands whatever happens to the note:
        a missed entry only lets the network send one more."""
        claimed: list[str] = []
        if flood is not None and flood.ms > 0:
            wait_ms, claimed = self._claim_flood_marks(comment.comment_id, flood)
            if wait_ms:
                return Outcome("flood", str(wait_ms))
        self._before_write()
        note = None
        if pending_mark and comment.status is Status.PENDING:
            note = ScriptCall(
                self._add_pending, [pending_mark.key], [comment.comment_id, pending_mark.keep_ms]
            )
        result = self.writes.run(
            self._submit, *self._submit_call(comment, sealed_private, locator, any_parent), note
        )
        outcome = Outcome(*[_text(part) for part in result])
        if outcome.verdict not in ("created", "exists") and claimed:
            self.client.delete(*claimed)
        return outcome

    @_guarded
    def pending_from(self, ip_hash: str) -> int:
        """Count the comments of a client network's pending list that are still pending,
        trimming the others (decided, deleted, purged): each id names its bucket's queue."""
        key = self.keys.pending_from(ip_hash)
        read = _text(self.client.get(key) or "")
        members = [
            read[at : at + COMMENT_ID_LENGTH] for at in range(0, len(read), COMMENT_ID_LENGTH)
        ]
        if not members:
            return 0
        buckets = {cid: bucket for cid in members if (bucket := comment_bucket(cid)) is not None}
        pipe = self.client.pipeline(transaction=False)
        for comment_id, bucket in buckets.items():
            pipe.zscore(self.keys.queue(bucket, Status.PENDING), comment_id)
        answers = pipe.execute() if buckets else []
        live = [cid for cid, score in zip(buckets, answers, strict=True) if score is not None]
        if len(live) * COMMENT_ID_LENGTH < len(read):
            self._trim_pending(keys=[key], args=[read, "".join(live)])
        return len(live)

    def _submit_call(
        self, comment: Comment, sealed_private: bytes, locator: Locator, any_parent: bool = False
    ) -> tuple[list[Any], list[Any]]:
        """The KEYS and ARGV of the submit script for one comment; `any_parent` lets a reply
        hang under a parent in any state (imports), not only a published one."""
        comment_id, article_id, bucket = comment.comment_id, locator.article_id, locator.bucket
        record = records.pack(
            comment_id,
            comment.to_fields(),
            comment.email_hash,
            comment.fingerprint,
            sealed_private,
        )
        keys = [
            *self._transition_keys(comment_id, locator),
            self.keys.locator(bucket, comment_id),
            self.keys.email_index(bucket, comment.email_hash),
            self.keys.fingerprints(article_id),
            self.keys.article(article_id),
            self.keys.events(bucket),
            self.keys.articles(bucket),
        ]
        args = [
            *self._transition_args(comment_id, locator, comment.email_hash),
            locator.dumps(comment_id),
            comment.parent_id or "",
            str(comment.status),
            self.events_kept,
            "1" if any_parent else "0",
            comment.fingerprint,
            record,
        ]
        return keys, args

    @_guarded
    def add_many(self, entries: Sequence[tuple[Comment, bytes, Locator]]) -> list[Outcome]:
        """Store many imported comments (no flood rule; a reply under a parent in any state),
        each in its own atomic step, as `add` does: on one server in one pipeline with one
        durability wait for all; on a cluster, which takes no scripts in a pipeline, one by one."""
        self._before_write()
        if self.is_cluster:
            return [
                self.add(comment, sealed, locator, None, any_parent=True)
                for comment, sealed, locator in entries
            ]
        answers = self.writes.run_many(
            self._submit, [self._submit_call(*entry, any_parent=True) for entry in entries]
        )
        return [Outcome(*[_text(part) for part in answer]) for answer in answers]

    def _claim_flood_marks(self, comment_id: str, flood: FloodMarks) -> tuple[int, list[str]]:
        """Set every flood mark that is not set; answer the ms to wait (0: all claimed) and the
        marks this call set. When one is taken, the ones just set are given back."""
        pipe = self.client.pipeline(transaction=False)
        for key in flood.keys:
            pipe.set(key, comment_id, nx=True, px=flood.ms)
            pipe.pttl(key)
        replies = pipe.execute()
        claimed = [key for key, done in zip(flood.keys, replies[0::2], strict=True) if done]
        waits = [
            int(ttl) for done, ttl in zip(replies[0::2], replies[1::2], strict=True) if not done
        ]
        if not waits:
            return 0, claimed
        if claimed:
            self.client.delete(*claimed)
        return max(1, *waits), []

    @_guarded
    def decide(
        self, comment_id: str, locator: Locator, status: Status, act: Act
    ) -> tuple[str, Status | None]:
        """Move a comment to a decided state, with an audit entry, and take its open reports
        away; answer the outcome and the previous state."""
        outcome, previous, _ = self.decide_and_read(comment_id, locator, status, act)
        return outcome, previous

    @_guarded
    def decide_and_read(
        self, comment_id: str, locator: Locator, status: Status, act: Act
    ) -> tuple[str, Status | None, str | None]:
        """Decide as `decide` does; answer also the comment's stored record as the step left
        it (None when there is no such comment)."""
        self._before_write()
        result = self.writes.run(
            self._decide,
            keys=[
                *self._transition_keys(comment_id, locator),
                self.keys.audit(locator.bucket),
                self.keys.events(locator.bucket),
                self.keys.reports(locator.article_id, comment_id),
                self.keys.reported(locator.bucket),
            ],
            args=[
                *self._transition_args(comment_id, locator),
                str(status),
                act.moderator,
                records.kept_moment(comment_id, act.at),
                act.reason or "",
                str(act.reason_code or ""),
                AUDIT_LENGTH,
                self.events_kept,
            ],
        )
        outcome = _text(result[0])
        previous = Status(_text(result[1])) if len(result) > 1 else None
        return outcome, previous, _text(result[2]) if len(result) > 2 else None

    @_guarded
    def delete(
        self,
        comment_id: str,
        locator: Locator,
        act: Act,
        only_if: Status | None = None,
        queued_before: int | None = None,
    ) -> str:
        """Delete a comment and its private data (only in state `only_if`, and only when it
        joined the queue before the moment `queued_before`, when given), with an audit entry;
        answer "missing", "deleted", "placeholder" or "kept" (another state, or too recent)."""
        self._before_write()
        keys, article_id, bucket = self.keys, locator.article_id, locator.bucket
        # The email index to leave is named by the author's email hash, read from the record
        # first; the step checks it is still that one (an erasure may come between).
        for _ in range(3):
            email_hash = self.author_of(article_id, comment_id)
            result = self.writes.run(
                self._delete,
                keys=[
                    *self._transition_keys(comment_id, locator),
                    keys.locator(bucket, comment_id),
                    keys.email_index(bucket, email_hash),
                    keys.fingerprints(article_id),
                    keys.audit(bucket),
                    keys.revisions(article_id, comment_id),
                    keys.events(bucket),
                    keys.reports(article_id, comment_id),
                    keys.reporters(article_id, comment_id),
                    keys.reported(bucket),
                ],
                args=[
                    *self._transition_args(comment_id, locator),
                    str(only_if) if only_if else "",
                    act.moderator,
                    AUDIT_LENGTH,
                    self.events_kept,
                    "" if queued_before is None else queued_before,
                    email_hash,
                ],
            )
            if _text(result) != "moved":
                return _text(result)
        raise StoreUnavailable("the comment kept changing while it was deleted")

    def author_of(self, article_id: str, comment_id: str) -> str:
        """Give the email hash a comment's record keeps ("" for none, or no comment)."""
        return records.email_hash_of(self.client.hget(self.keys.comments(article_id), comment_id))

    @_guarded
    def edit(self, comment_id: str, locator: Locator, body: str, act: Act) -> str:
        """Replace a comment's text, keeping every version; answer "missing", "unchanged" or
        "edited"."""
        self._before_write()
        article_id = locator.article_id
        result = self.writes.run(
            self._edit,
            keys=[
                self.keys.comments(article_id),
                self.keys.revisions(article_id, comment_id),
                self.keys.version(article_id),
                self.keys.audit(locator.bucket),
                self.keys.events(locator.bucket),
            ],
            args=[
                body,
                records.rfc3339_of_ms(records.created_ms_of(comment_id)),
                act.moderator,
                act.at,
                comment_id,
                article_id,
                secrets.token_hex(8),
                AUDIT_LENGTH,
                self.events_kept,
                records.kept_moment(comment_id, act.at),
            ],
        )
        return _text(result)

    @_guarded
    def revisions(self, article_id: str, comment_id: str) -> list[dict[str, str]]:
        """Read a comment's texts, original first (empty when it was never edited)."""
        entries = self.client.lrange(self.keys.revisions(article_id, comment_id), 0, -1)
        return [json.loads(entry) for entry in entries]

    @_guarded
    def audit(self, entry: dict[str, str]) -> None:
        """Append a moderation action that changes no comment (articles, the block list); it goes
        to its article's bucket, or the first bucket for the whole site's. Its time is its entry
        id's (see `audit_entries`)."""
        article_id = entry.get("article_id")
        bucket = article_bucket(article_id) if article_id else 0
        self.client.xadd(
            self.keys.audit(bucket), dict(entry.items()), maxlen=AUDIT_LENGTH, approximate=True
        )

    @_guarded
    def audit_entries(self, before: str | None, count: int) -> list[tuple[str, dict[str, str]]]:
        """Read audit entries newest first, older than the position `before` when given. Each
        has its time in `at` (RFC 3339, to the second): its entry id's milliseconds, or for an
        entry written before, the `at` it keeps."""
        asked: list[tuple[int, str]] = []
        for bucket in range(BUCKETS):
            if before is None:
                asked.append((bucket, "+"))
                continue
            ms, seq, last_bucket = parse_stream_position(before)
            # Entries at the cursor's own id come after it in lower buckets only.
            if bucket < last_bucket:
                asked.append((bucket, f"{ms}-{seq}"))
            elif (ms, seq) != (0, 0):
                asked.append((bucket, f"({ms}-{seq}"))
        pipe = self.client.pipeline(transaction=False)
        for bucket, newest in asked:
            pipe.xrevrange(self.keys.audit(bucket), newest, "-", count=count)
        merged = heapq.merge(
            *(
                [
                    ((*parse_stream_position(_text(entry_id))[:2], bucket), fields)
                    for entry_id, fields in answer or []
                ]
                for (bucket, _), answer in zip(asked, pipe.execute(), strict=True)
            ),
            key=lambda item: item[0],
            reverse=True,
        )
        page = []
        for (ms, seq, bucket), fields in merged:
            entry = _decoded(fields or {})
            entry.setdefault("at", records.rfc3339_of_ms(ms))
            page.append((f"{ms}-{seq}-{bucket}", entry))
            if len(page) == count:
                break
        return page

    @_guarded
    def state_counts(self) -> tuple[dict[Status, int], str | None]:
        """Count the comments in each state, and give the oldest pending comment's id."""
        pipe = self.client.pipeline(transaction=False)
        for bucket in range(BUCKETS):
            for status in Status.indexed():
                pipe.zcard(self.keys.queue(bucket, status))
            pipe.zrange(self.keys.queue(bucket, Status.PENDING), 0, 0)
        replies = pipe.execute()
        width = len(Status.indexed()) + 1
        counts = dict.fromkeys(Status.indexed(), 0)
        oldest: list[str] = []
        for bucket in range(BUCKETS):
            *bucket_counts, first = replies[bucket * width : (bucket + 1) * width]
            for status, count in zip(Status.indexed(), bucket_counts, strict=True):
                counts[status] += int(count)
            oldest.extend(_text(comment_id) for comment_id in first)
        return counts, min(oldest) if oldest else None

    # --- reads --------------------------------------------------------------------------
    @_guarded
    def locate_many(self, comment_ids: list[str]) -> list[Locator | None]:
        """Find where comments live; None for each id that names no comment. An id names its
        bucket; an id from before buckets is looked for in every bucket."""
        if not comment_ids:
            return []
        by_bucket: dict[int, list[str]] = defaultdict(list)
        legacy: list[str] = []
        for comment_id in dict.fromkeys(comment_ids):
            bucket = comment_bucket(comment_id)
            if bucket is None:
                legacy.append(comment_id)
            else:
                by_bucket[bucket].append(comment_id)
        pipe = self.client.pipeline(transaction=False)
        asked: list[tuple[int, list[str]]] = [*by_bucket.items()]
        if legacy:
            asked += [(bucket, legacy) for bucket in range(BUCKETS)]
        by_shard: dict[str, list[str]] = defaultdict(list)
        for bucket, ids in asked:
            for comment_id in ids:
                by_shard[self.keys.locator(bucket, comment_id)].append(comment_id)
        for shard, ids in by_shard.items():
            pipe.hmget(shard, ids)
        found: dict[str, Locator] = {}
        for ids, answer in zip(by_shard.values(), pipe.execute(), strict=True):
            for comment_id, raw in zip(ids, answer, strict=True):
                if raw is not None:
                    found[comment_id] = Locator.loads(comment_id, _text(raw))
        return [found.get(comment_id) for comment_id in comment_ids]

    @_guarded
    def comment_fields(self, article_id: str, comment_id: str) -> dict[str, str]:
        """Read a comment's record (empty when it does not exist)."""
        raw = self.client.hget(self.keys.comments(article_id), comment_id)
        return records.unpack(article_id, comment_id, raw) if raw is not None else {}

    @_guarded
    def raw_records(self, references: Sequence[tuple[str, str]]) -> list[Any]:
        """Read the stored records of (article id, comment id) pairs, as stored (None for none):
        one HMGET per article asked."""
        by_article: dict[str, list[str]] = defaultdict(list)
        for article_id, comment_id in references:
            by_article[article_id].append(comment_id)
        pipe = self.client.pipeline(transaction=False)
        for article_id, ids in by_article.items():
            pipe.hmget(self.keys.comments(article_id), ids)
        found: dict[tuple[str, str], Any] = {}
        for (article_id, ids), answer in zip(by_article.items(), pipe.execute(), strict=True):
            found.update(((article_id, cid), raw) for cid, raw in zip(ids, answer, strict=True))
        return [found[reference] for reference in references]

    def moderation_records(
        self, references: Sequence[tuple[str, str]]
    ) -> list[tuple[dict[str, str], bytes | None]]:
        """Read the records and sealed private data of (article id, comment id) pairs (an
        empty record and None for a comment that is gone)."""
        return [
            records.unpack_with_sealed(article_id, comment_id, raw)
            for (article_id, comment_id), raw in zip(
                references, self.raw_records(references), strict=True
            )
        ]

    def _merged_ids(
        self, keys: list[str], limit: int, after: str | None, descending: bool
    ) -> list[str]:
        """Read up to `limit` ids after `after` from indexes ordered by id (all scores 0),
        merged across them in one pipeline."""
        if descending:
            start, end = (f"({after}" if after else "+"), "-"
        else:
            start, end = (f"({after}" if after else "-"), "+"
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.zrange(key, start, end, bylex=True, desc=descending, offset=0, num=limit)
        answers = [[_text(comment_id) for comment_id in ids] for ids in pipe.execute()]
        merged = heapq.merge(*answers, reverse=descending)
        return [comment_id for comment_id, _ in zip(merged, range(limit), strict=False)]

    @_guarded
    def queue_slice(
        self,
        status: Status,
        article_id: str | None,
        limit: int,
        after: str | None,
        email_hash: str | None = None,
    ) -> list[str]:
        """List up to `limit` comment ids in one state (or, by email, in any state): pending
        oldest first, others newest first."""
        if email_hash is not None:
            buckets = [article_bucket(article_id)] if article_id else list(range(BUCKETS))
            descending = status is not Status.PENDING
            return self._ids_by_email(email_hash, buckets, limit, after, descending)
        if article_id:
            keys = [self.keys.article_status(article_id, status)]
        else:
            keys = [self.keys.queue(bucket, status) for bucket in range(BUCKETS)]
        return self._merged_ids(keys, limit, after, descending=status is not Status.PENDING)

    @_guarded
    def ids_in_state(self, status: Status, limit: int, after: str | None = None) -> list[str]:
        """List up to `limit` ids of the comments in one state, oldest first, after an id."""
        keys = [self.keys.queue(bucket, status) for bucket in range(BUCKETS)]
        return self._merged_ids(keys, limit, after, descending=False)

    @_guarded
    def ids_by_email(self, email_hash: str, limit: int, after: str | None = None) -> list[str]:
        """List up to `limit` ids of the comments written with an email, oldest first."""
        return self._ids_by_email(email_hash, list(range(BUCKETS)), limit, after, False)

    def _ids_by_email(
        self, email_hash: str, buckets: list[int], limit: int, after: str | None, descending: bool
    ) -> list[str]:
        """Read up to `limit` ids after `after` from an email's entries in some buckets' email
        indexes, in id order (the entries keep them in the order they were added)."""
        pipe = self.client.pipeline(transaction=False)
        for bucket in buckets:
            pipe.hget(self.keys.email_index(bucket, email_hash), email_hash)
        found = {cid for entry in pipe.execute() if entry for cid in _text(entry).split()}
        ids = sorted(found, reverse=descending)
        if after is not None:
            ids = [cid for cid in ids if (cid < after if descending else cid > after)]
        return ids[:limit]

    @_guarded
    def list_version(self, article_id: str) -> str | None:
        """Read the version of an article's public list (None before its first decision)."""
        version = self.client.get(self.keys.version(article_id))
        return _text(version) if version is not None else None

    @_guarded
    def published_page(
        self, article_id: str, offset: int, count: int, newest_first: bool
    ) -> tuple[int, int, list[Thread]]:
        """Read one page of threads: (published count, thread count, threads). Reads only: a
        plain pipeline, which Redis answers even when its memory is full."""
        keys = self.keys
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(keys.article_status(article_id, Status.APPROVED))
        pipe.zcard(keys.roots(article_id))
        pipe.zrange(keys.roots(article_id), offset, offset + count - 1, desc=newest_first)
        published, threads, root_ids = pipe.execute()
        if not root_ids:
            return published, threads, []

        root_ids = [_text(root_id) for root_id in root_ids]
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(keys.comments(article_id), root_ids)
        for root_id in root_ids:
            pipe.zrange(keys.thread(article_id, root_id), 0, -1)
        root_records, *threads_ids = pipe.execute()
        reply_ids = [[_text(reply_id) for reply_id in ids] for ids in threads_ids]

        every_reply = [reply_id for ids in reply_ids for reply_id in ids]
        reply_records = iter(
            self.client.hmget(keys.comments(article_id), every_reply) if every_reply else []
        )
        page = []
        for root_id, raw_root, ids in zip(root_ids, root_records, reply_ids, strict=True):
            replies = [_unpacked(article_id, reply_id, next(reply_records)) for reply_id in ids]
            page.append(Thread(_unpacked(article_id, root_id, raw_root), replies))
        return published, threads, page

    @_guarded
    def published_counts(self, article_ids: list[str]) -> list[int]:
        """Count the published comments of each article: one read-only script on one server,
        one HMGET per bucket asked on a cluster."""
        if not self.is_cluster:
            keys = [self.keys.published_counts(article_bucket(a)) for a in article_ids]
            answer = self._published_counts(keys=keys, args=article_ids) if article_ids else []
            return [int(count) if count is not None else 0 for count in answer]
        by_bucket: dict[int, list[str]] = defaultdict(list)
        for article_id in dict.fromkeys(article_ids):
            by_bucket[article_bucket(article_id)].append(article_id)
        pipe = self.client.pipeline(transaction=False)
        for bucket, ids in by_bucket.items():
            pipe.hmget(self.keys.published_counts(bucket), ids)
        counts: dict[str, int] = {}
        for ids, answer in zip(by_bucket.values(), pipe.execute(), strict=True):
            counts.update(
                (article_id, int(count) if count is not None else 0)
                for article_id, count in zip(ids, answer, strict=True)
            )
        return [counts[article_id] for article_id in article_ids]

    @_guarded
    def admission_facts(
        self,
        article_id: str,
        email_hash: str,
        ip_hash: str,
        fingerprint: str,
        rider: ScriptCall | None = None,
    ) -> tuple[AdmissionFacts, Any]:
        """Read what the submission rules need to know (reads only); `ip_hash` names the
        client's network. `rider`, another read-only script call, travels in the same round
        trip on one server; its answer comes second. On a cluster it is not sent: None comes
        second, as without one, for the caller to send it when it needs it."""
        keys = self.keys
        facts_keys = [
            keys.article(article_id),
            keys.blocks("emails"),
            keys.blocks("domains"),
            keys.blocks("networks"),
            keys.flood("ip", ip_hash),
            keys.flood("email", email_hash),
            keys.fingerprints(article_id),
            keys.pending_from(ip_hash),
            *(keys.approved_by_email(bucket) for bucket in range(BUCKETS)),
            *(keys.queue(bucket, Status.PENDING) for bucket in range(BUCKETS)),
        ]
        if self.is_cluster:
            # The keys lie in many slots: plain commands, which the client sends to each node.
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(facts_keys[0])
            pipe.hexists(facts_keys[1], email_hash)
            pipe.smembers(facts_keys[2])
            pipe.smembers(facts_keys[3])
            pipe.pttl(facts_keys[4])
            pipe.pttl(facts_keys[5])
            pipe.hget(facts_keys[6], fingerprint)
            pipe.strlen(facts_keys[7])
            for bucket in range(BUCKETS):
                pipe.hget(facts_keys[8 + bucket], email_hash)
            for bucket in range(BUCKETS):
                pipe.zcard(facts_keys[8 + BUCKETS + bucket])
            return _facts(*_with_sums(pipe.execute())), None

        def build(pipe: Any) -> None:
            queue_script(
                pipe, self._admission_facts, facts_keys, [email_hash, fingerprint, BUCKETS]
            )
            if rider is not None:
                queue_script(pipe, rider.script, rider.keys, rider.args)

        scripts = [self._admission_facts, *([rider.script] if rider else [])]
        answers = pipelined_scripts.execute(self.client, scripts, build)
        return _facts(*answers[0]), answers[1] if rider else None

    def pending_mark(self, ip_hash: str, keep_days: int) -> PendingMark:
        """Name the pending list of a client's network, kept `keep_days` days after its last."""
        return PendingMark(self.keys.pending_from(ip_hash), max(keep_days, 1) * 86_400_000)

    def flood_marks(self, ip_hash: str, email_hash: str, ms: int) -> FloodMarks:
        """Name the flood marks of a client's IP and email."""
        return FloodMarks(
            (self.keys.flood("ip", ip_hash), self.keys.flood("email", email_hash)), ms
        )

    @_guarded
    def set_article(self, article_id: str, fields: dict[str, str]) -> dict[str, str]:
        """Change an article's settings; answer all of them."""
        key = self.keys.article(article_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, mapping=dict(fields.items()))
        pipe.hgetall(key)
        return _decoded(pipe.execute()[1])

    @_guarded
    def article_settings(self, article_id: str) -> dict[str, str]:
        """Read an article's settings (empty when it has none)."""
        return _decoded(self.client.hgetall(self.keys.article(article_id)))

    # --- block list -----------------------------------------------------------------------
    @_guarded
    def block_email(self, email_hash: str, sealed_email: bytes) -> None:
        """Block an email, kept as its keyed hash with the email sealed for listing."""
        self._before_write()
        self.client.hset(self.keys.blocks("emails"), email_hash, sealed_email)

    @_guarded
    def unblock_email(self, email_hash: str) -> bool:
        """Lift an email's block; tell whether it was blocked."""
        return bool(self.client.hdel(self.keys.blocks("emails"), email_hash))

    @_guarded
    def block_value(self, kind: str, value: str, blocked: bool) -> bool:
        """Add or remove a blocked domain or network; tell whether anything changed."""
        key = self.keys.blocks(kind)
        changed = self.client.sadd(key, value) if blocked else self.client.srem(key, value)
        return bool(changed)

    @_guarded
    def blocks(self) -> tuple[list[bytes], list[str], list[str]]:
        """List the sealed blocked emails, the blocked domains and networks."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hvals(self.keys.blocks("emails"))
        pipe.smembers(self.keys.blocks("domains"))
        pipe.smembers(self.keys.blocks("networks"))
        emails, domains, networks = pipe.execute()
        return (
            list(emails),
            sorted(_text(domain) for domain in domains),
            sorted(_text(network) for network in networks),
        )

    @_guarded
    def articles_page(
        self, limit: int, after: tuple[int, str] | None
    ) -> list[tuple[str, int, dict[Status, int], dict[str, str]]]:
        """List articles by first comment, newest first (ties by id, descending), with comments
        per state and settings."""
        top = after[0] if after else "+inf"
        pipe = self.client.pipeline(transaction=False)
        for bucket in range(BUCKETS):
            # After a cursor, what the previous page showed at the same score is skipped below.
            pipe.zrange(
                self.keys.articles(bucket),
                top,
                "-inf",
                byscore=True,
                desc=True,
                offset=0,
                num=limit + 200,
                withscores=True,
            )
        ranked = heapq.merge(
            *(
                [(int(score), _text(member)) for member, score in answer]
                for answer in pipe.execute()
            ),
            reverse=True,
        )
        chosen = [
            (article_id, first_ms)
            for first_ms, article_id in ranked
            if after is None or (first_ms, article_id) < after
        ][:limit]
        pipe = self.client.pipeline(transaction=False)
        for article_id, _ in chosen:
            for status in Status.indexed():
                pipe.zcard(self.keys.article_status(article_id, status))
            pipe.hgetall(self.keys.article(article_id))
        replies = iter(pipe.execute())
        page = []
        for article_id, first_ms in chosen:
            counts = {status: int(next(replies)) for status in Status.indexed()}
            page.append((article_id, first_ms, counts, _decoded(next(replies))))
        return page

    # --- moderators -----------------------------------------------------------------------
    @_guarded
    def sign_in(
        self, client_hash: str | None, token_hash: str | None
    ) -> tuple[int | None, str | None]:
        """Read, in one round trip, the milliseconds a client is still locked out of signing in
        and the moderator record a token's hash belongs to (None for either: none, or not asked)."""
        if client_hash is None and token_hash is None:
            return None, None
        pipe = self.client.pipeline(transaction=False)
        if client_hash is not None:
            pipe.pttl(self.keys.sign_in_lock(client_hash))
        if token_hash is not None:
            pipe.hget(self.keys.moderators(), token_hash)
        replies = iter(pipe.execute())
        # PTTL answers -2 where there is no lock (a lock always has an expiry).
        locked = int(next(replies)) if client_hash is not None else -2
        record = next(replies) if token_hash is not None else None
        return (locked if locked > 0 else None), (_text(record) if record is not None else None)

    @_guarded
    def lock_sign_in(self, client_hash: str, seconds: int) -> None:
        """Lock a client out of signing in for some seconds; a longer lock already set stays."""
        key = self.keys.sign_in_lock(client_hash)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(key, 1, ex=seconds, nx=True)
        pipe.expire(key, seconds, gt=True)
        pipe.execute()

    @_guarded
    def moderator_tokens(self) -> dict[str, str]:
        """List every token hash with its moderator record."""
        return _decoded(self.client.hgetall(self.keys.moderators()))

    @_guarded
    def set_moderator_token(self, token_hash: str, record: str | None) -> bool:
        """Store a token's hash with its moderator record, or remove it (record None)."""
        if record is None:
            return bool(self.client.hdel(self.keys.moderators(), token_hash))
        return bool(self.client.hset(self.keys.moderators(), token_hash, record))

    # --- the secret key ---------------------------------------------------------------------
    def _before_write(self) -> None:
        """Before this store's first write, note the layout it writes in and seal the data with
        `seal_on_write` when it is not sealed yet (the check at start made sure it is not
        sealed with another key, nor kept in an older layout)."""
        if self._layout_noted:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.keys.layout(), LAYOUT, nx=True)
        if self.seal_on_write is not None:
            pipe.set(self.keys.key_check(), self.seal_on_write, nx=True)
        pipe.execute()
        self.seal_on_write = None
        self._layout_noted = True

    @_guarded
    def sealed_with(self, key_check: str, seal: bool) -> str | None:
        """Give the key check value the store is sealed with; with `seal`, first store the one
        given when there is none yet (SET NX: of two first starts, one wins)."""
        key = self.keys.key_check()
        if seal:
            self.client.set(key, key_check, nx=True)
        stored = self.client.get(key)
        return _text(stored) if stored is not None else None

    @_guarded
    def some_private_data(self) -> bytes | None:
        """Give one comment's sealed private data, if any comment keeps some (a sample to try
        a secret key on)."""
        for status in Status.indexed():
            for comment_id in self.ids_in_state(status, 20):
                [locator] = self.locate_many([comment_id])
                if locator is None:
                    continue
                raw = self.client.hget(self.keys.comments(locator.article_id), comment_id)
                sealed = records.sealed_of(raw)
                if sealed:
                    return sealed
        return None

    # --- idempotency ----------------------------------------------------------------------
    @_guarded
    def claim_idempotency_key(self, key_hash: str, claim: str, seconds: int) -> str | None:
        """Claim a key for one request; answer what another request stored there, if any."""
        key = self.keys.idempotency(key_hash)
        if self.client.set(key, claim, nx=True, ex=seconds):
            return None
        stored = self.client.get(key)
        return _text(stored) if stored is not None else ""

    @_guarded
    def keep_idempotent_answer(self, key_hash: str, answer: str, seconds: int) -> None:
        """Keep the first answer given for a key."""
        self.client.set(self.keys.idempotency(key_hash), answer, ex=seconds)

    @_guarded
    def release_idempotency_key(self, key_hash: str) -> None:
        """Let a key be used again after its request failed without an answer worth keeping."""
        self.client.delete(self.keys.idempotency(key_hash))

    # --- maintenance ----------------------------------------------------------------------
    @_guarded
    def pending_before(self, cutoff_ms: int, limit: int, after: str | None = None) -> list[str]:
        """List up to `limit` pending comment ids made before a moment, oldest first, after an
        id when given."""
        pipe = self.client.pipeline(transaction=False)
        for bucket in range(BUCKETS):
            pipe.zrange(
                self.keys.queue(bucket, Status.PENDING),
                f"({after}" if after else "-",
                f"({cutoff_ms:012x}",
                bylex=True,
                offset=0,
                num=limit,
            )
        merged = heapq.merge(*([_text(item) for item in ids] for ids in pipe.execute()))
        return [comment_id for comment_id, _ in zip(merged, range(limit), strict=False)]

    # --- health -------------------------------------------------------------------------
    @_guarded
    def eviction_policy(self) -> str:
        """Ask Redis which eviction policy it runs with (on a cluster, the first primary that
        evicts, else noeviction); this also proves it answers."""
        if isinstance(self.client, RedisCluster):
            answers = self.client.info("memory", target_nodes=RedisCluster.PRIMARIES)
            # A one-primary cluster answers its info alone, not a mapping of node to info.
            infos = [answers] if "maxmemory_policy" in answers else list(answers.values())
            policies = {str(info.get("maxmemory_policy", "unknown")) for info in infos}
            evicting = sorted(policies - {"noeviction"})
            return evicting[0] if evicting else "noeviction"
        info = self.client.info("memory")
        return str(info.get("maxmemory_policy", "unknown"))


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Group items in lists of at most `size`, in order."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decoded(record: Any) -> dict[str, str]:
    return {_text(key): _text(value) for key, value in record.items()}


def _unpacked(article_id: str, comment_id: str, raw: Any) -> dict[str, str]:
    """A stored record's fields, or an empty record for a comment that is gone."""
    return records.unpack(article_id, comment_id, raw) if raw is not None else {}
