"""Every Redis command the service sends: reads, pipelines and the Lua transitions."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis

from service.keys import Keys
from service.models import Act, Comment, Status

log = logging.getLogger(__name__)

# How long a write waits for the AOF to reach the disk before it is refused (503).
WAITAOF_TIMEOUT_MS = 2000
# The audit stream keeps about this many entries (each well under 1 KiB).
AUDIT_LENGTH = 1_000_000
# Comment events waiting for webhook delivery: about this many are kept while no worker reads.
EVENTS_LENGTH = 1_000_000

P = ParamSpec("P")
R = TypeVar("R")


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


def _script_source(name: str, *, transition: bool = True) -> str:
    """Give a script's Lua source; a transition's comes after the helpers transitions share."""
    folder = resources.files("service").joinpath("lua")
    shared = folder.joinpath("_publication.lua").read_text() if transition else ""
    return shared + folder.joinpath(f"{name}.lua").read_text()


@dataclass(frozen=True)
class Locator:
    """Where a comment lives: what its key names need, fixed when it is written."""

    article_id: str
    root_id: str
    root_ms: int
    parent_id: str | None
    created_ms: int
    email_hash: str
    fingerprint: str

    def dumps(self) -> str:
        """Serialize for the locator hash."""
        return json.dumps(dataclasses.astuple(self))

    @classmethod
    def loads(cls, raw: str) -> Locator:
        """Read back what `dumps` wrote."""
        return cls(*json.loads(raw))


@dataclass(frozen=True)
class Outcome:
    """What a transition script answered: its verdict and, for some, a detail."""

    verdict: str
    detail: str | None = None


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


@dataclass(frozen=True)
class Thread:
    """A top-level comment's record with its replies' records, oldest first."""

    root: dict[str, str]
    replies: list[dict[str, str]]


class Store:
    """Read and change comments in Redis; knows nothing of HTTP."""

    def __init__(
        self, client: redis.Redis, keys: Keys, events: bool = False, fsync: bool = False
    ) -> None:
        self.client = client
        self.keys = keys
        # Wait for the server's append-only file to reach the disk before a write is answered
        # (WAITAOF: Redis and Valkey 7.2 and newer, with appendonly on; otherwise not possible).
        self.fsync = fsync
        # Comment events for webhooks are written only when some receiver wants them.
        self.events_kept = EVENTS_LENGTH if events else 0
        self._submit = client.register_script(_script_source("submit"))
        self._decide = client.register_script(_script_source("decide"))
        self._delete = client.register_script(_script_source("delete"))
        self._facts = client.register_script(_script_source("facts", transition=False))
        self._edit = client.register_script(_script_source("edit", transition=False))

    # --- writes -------------------------------------------------------------------------
    def _durably(self, script: Any, keys: list[Any], args: list[Any]) -> Any:
        """Run a write script and, when asked, wait on the same connection until the server's
        AOF holds it on disk; a write that could not be made durable is not acknowledged."""
        if not self.fsync:
            return script(keys=keys, args=args)
        pipe = self.client.pipeline(transaction=False)
        script(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAITAOF", 1, 0, WAITAOF_TIMEOUT_MS)  # type: ignore[no-untyped-call]
        result, waited = pipe.execute(raise_on_error=False)
        if isinstance(result, Exception):
            raise result
        if isinstance(waited, redis.ResponseError):
            # No WAITAOF (Redis before 7.2) or no AOF at all: say so once, then stop asking.
            log.warning("durability 'fsync' is not available on this server: %s", waited)
            self.fsync = False
        elif isinstance(waited, Exception):
            raise waited
        elif int(waited[0]) < 1:
            raise StoreUnavailable("AOF fsync not confirmed")
        return result

    def _transition_keys(self, comment_id: str, locator: Locator) -> list[str]:
        """The KEYS every transition script starts with (see lua/_publication.lua)."""
        keys, article_id = self.keys, locator.article_id
        return [
            keys.comment(article_id, comment_id),
            *keys.queues(),
            *keys.article_statuses(article_id),
            keys.roots(article_id),
            keys.live(article_id),
            keys.thread(article_id, locator.root_id),
            keys.version(article_id),
            keys.published_counts(),
            keys.approved_by_email(),
        ]

    def _transition_args(self, comment_id: str, locator: Locator) -> list[str | int]:
        """The ARGV every transition script starts with."""
        return [
            comment_id,
            locator.root_id,
            locator.root_ms,
            locator.created_ms,
            secrets.token_hex(8),
            locator.article_id,
            locator.email_hash,
        ]

    def _private_keys(self, comment_id: str, locator: Locator) -> list[str]:
        """The keys of a comment's private data and lookups, in submit's and delete's order."""
        keys, article_id = self.keys, locator.article_id
        return [
            keys.private(article_id, comment_id),
            keys.locator(),
            keys.email_index(locator.email_hash),
            keys.comment(article_id, locator.parent_id or comment_id),
            keys.duplicate(article_id, locator.fingerprint),
        ]

    @_guarded
    def add(
        self,
        comment: Comment,
        sealed_private: bytes,
        locator: Locator,
        flood_marks: tuple[str, str],
        flood_ms: int,
        max_pending: int,
    ) -> Outcome:
        """Store a new comment once, in its state; refuse a flood or a duplicate atomically."""
        comment_id = comment.comment_id
        fields = [item for pair in comment.to_fields().items() for item in pair]
        result = self._durably(
            self._submit,
            keys=[
                *self._transition_keys(comment_id, locator),
                *self._private_keys(comment_id, locator),
                *flood_marks,
                self.keys.article(locator.article_id),
                self.keys.events(),
                self.keys.articles(),
            ],
            args=[
                *self._transition_args(comment_id, locator),
                sealed_private,
                locator.dumps(),
                comment.parent_id or "",
                str(comment.status),
                flood_ms,
                max_pending,
                self.events_kept,
                *fields,
            ],
        )
        return Outcome(*[_text(part) for part in result])

    @_guarded
    def decide(
        self, comment_id: str, locator: Locator, status: Status, act: Act
    ) -> tuple[str, Status | None]:
        """Move a comment to a decided state, with an audit entry; answer the outcome and the
        previous state."""
        result = self._durably(
            self._decide,
            keys=[
                *self._transition_keys(comment_id, locator),
                self.keys.audit(),
                self.keys.events(),
            ],
            args=[
                *self._transition_args(comment_id, locator),
                str(status),
                act.moderator,
                act.at,
                act.reason or "",
                str(act.reason_code or ""),
                AUDIT_LENGTH,
                self.events_kept,
            ],
        )
        outcome = _text(result[0])
        previous = Status(_text(result[1])) if len(result) > 1 else None
        return outcome, previous

    @_guarded
    def delete(
        self, comment_id: str, locator: Locator, act: Act, only_if: Status | None = None
    ) -> str:
        """Delete a comment and its private data (only in state `only_if`, when given), with an
        audit entry; answer "missing", "deleted", "placeholder" or "kept" (another state)."""
        result = self._durably(
            self._delete,
            keys=[
                *self._transition_keys(comment_id, locator),
                *self._private_keys(comment_id, locator),
                self.keys.audit(),
                self.keys.revisions(locator.article_id, comment_id),
            ],
            args=[
                *self._transition_args(comment_id, locator),
                "1" if locator.parent_id else "0",
                str(only_if) if only_if else "",
                act.moderator,
                act.at,
                AUDIT_LENGTH,
            ],
        )
        return _text(result)

    @_guarded
    def edit(self, comment_id: str, locator: Locator, body: str, body_html: str, act: Act) -> str:
        """Replace a comment's text, keeping every version; answer "missing", "unchanged" or
        "edited"."""
        article_id = locator.article_id
        result = self._durably(
            self._edit,
            keys=[
                self.keys.comment(article_id, comment_id),
                self.keys.revisions(article_id, comment_id),
                self.keys.version(article_id),
                self.keys.audit(),
            ],
            args=[
                body,
                body_html,
                act.moderator,
                act.at,
                comment_id,
                article_id,
                secrets.token_hex(8),
                AUDIT_LENGTH,
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
        """Append a moderation action that changes no comment (articles, the block list)."""
        self.client.xadd(
            self.keys.audit(), dict(entry.items()), maxlen=AUDIT_LENGTH, approximate=True
        )

    @_guarded
    def audit_entries(self, before: str | None, count: int) -> list[tuple[str, dict[str, str]]]:
        """Read audit entries newest first, older than the entry id `before` when given."""
        if before == "0-0":
            return []  # nothing is older than the stream's very first id
        newest = f"({before}" if before else "+"
        entries = self.client.xrevrange(self.keys.audit(), newest, "-", count=count) or []
        return [(_text(entry_id), _decoded(fields or {})) for entry_id, fields in entries]

    @_guarded
    def state_counts(self) -> tuple[dict[Status, int], str | None]:
        """Count the comments in each state, and give the oldest pending comment's id."""
        pipe = self.client.pipeline(transaction=False)
        for status in Status.indexed():
            pipe.zcard(self.keys.queue(status))
        pipe.zrange(self.keys.queue(Status.PENDING), 0, 0)
        *counts, oldest = pipe.execute()
        return (
            dict(zip(Status.indexed(), (int(count) for count in counts), strict=True)),
            _text(oldest[0]) if oldest else None,
        )

    # --- reads --------------------------------------------------------------------------
    @_guarded
    def locate_many(self, comment_ids: list[str]) -> list[Locator | None]:
        """Find where comments live; None for each id that names no comment."""
        if not comment_ids:
            return []
        records = self.client.hmget(self.keys.locator(), comment_ids)
        return [Locator.loads(_text(raw)) if raw is not None else None for raw in records]

    @_guarded
    def comment_fields(self, article_id: str, comment_id: str) -> dict[str, str]:
        """Read a comment's record (empty when it does not exist)."""
        return _decoded(self.client.hgetall(self.keys.comment(article_id, comment_id)))

    @_guarded
    def moderation_records(
        self, references: Iterable[tuple[str, str]]
    ) -> list[tuple[dict[str, str], bytes | None]]:
        """Read the records and sealed private data of (article id, comment id) pairs."""
        pipe = self.client.pipeline(transaction=False)
        for article_id, comment_id in references:
            pipe.hgetall(self.keys.comment(article_id, comment_id))
            pipe.get(self.keys.private(article_id, comment_id))
        replies = pipe.execute()
        return [
            (_decoded(replies[index]), replies[index + 1]) for index in range(0, len(replies), 2)
        ]

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
            key = self.keys.email_index(email_hash)
        elif article_id:
            key = self.keys.article_status(article_id, status)
        else:
            key = self.keys.queue(status)
        if status is Status.PENDING:
            start, end, descending = (f"({after}" if after else "-"), "+", False
        else:
            start, end, descending = (f"({after}" if after else "+"), "-", True
        ids = self.client.zrange(key, start, end, bylex=True, desc=descending, offset=0, num=limit)
        return [_text(comment_id) for comment_id in ids]

    @_guarded
    def list_version(self, article_id: str) -> str | None:
        """Read the version of an article's public list (None before its first decision)."""
        version = self.client.get(self.keys.version(article_id))
        return _text(version) if version is not None else None

    @_guarded
    def published_page(
        self, article_id: str, offset: int, count: int, newest_first: bool
    ) -> tuple[int, int, list[Thread]]:
        """Read one page of threads: (published count, thread count, threads)."""
        keys = self.keys
        pipe = self.client.pipeline(transaction=True)
        pipe.zcard(keys.article_status(article_id, Status.APPROVED))
        pipe.zcard(keys.roots(article_id))
        pipe.zrange(keys.roots(article_id), offset, offset + count - 1, desc=newest_first)
        published, threads, root_ids = pipe.execute()
        if not root_ids:
            return published, threads, []

        pipe = self.client.pipeline(transaction=False)
        for root_id in root_ids:
            pipe.hgetall(keys.comment(article_id, _text(root_id)))
            pipe.zrange(keys.thread(article_id, _text(root_id)), 0, -1)
        first = pipe.execute()
        roots = [_decoded(record) for record in first[0::2]]
        reply_ids = [[_text(reply_id) for reply_id in ids] for ids in first[1::2]]

        pipe = self.client.pipeline(transaction=False)
        for ids in reply_ids:
            for reply_id in ids:
                pipe.hgetall(keys.comment(article_id, reply_id))
        records = iter(pipe.execute())
        page = [
            Thread(root, [_decoded(next(records)) for _ in ids])
            for root, ids in zip(roots, reply_ids, strict=True)
        ]
        return published, threads, page

    @_guarded
    def published_counts(self, article_ids: list[str]) -> list[int]:
        """Count the published comments of each article."""
        counts = self.client.hmget(self.keys.published_counts(), article_ids)
        return [int(count) if count is not None else 0 for count in counts]

    @_guarded
    def admission_facts(
        self, article_id: str, email_hash: str, ip_hash: str, fingerprint: str
    ) -> AdmissionFacts:
        """Read in one step what the submission rules need to know."""
        keys = self.keys
        article, email_blocked, domains, networks, wait_ms, original, approved, queued = (
            self._facts(
                keys=[
                    keys.article(article_id),
                    keys.blocks("emails"),
                    keys.blocks("domains"),
                    keys.blocks("networks"),
                    keys.flood("ip", ip_hash),
                    keys.flood("email", email_hash),
                    keys.duplicate(article_id, fingerprint),
                    keys.approved_by_email(),
                    keys.queue(Status.PENDING),
                ],
                args=[email_hash],
            )
        )
        pairs = zip(article[0::2], article[1::2], strict=True)
        return AdmissionFacts(
            article={_text(name): _text(value) for name, value in pairs},
            email_blocked=bool(email_blocked),
            blocked_domains=frozenset(_text(domain) for domain in domains),
            blocked_networks=frozenset(_text(network) for network in networks),
            flood_wait_ms=int(wait_ms),
            duplicate_of=_text(original) if original else None,
            approved_by_author=int(approved),
            pending=int(queued),
        )

    def flood_marks(self, ip_hash: str, email_hash: str) -> tuple[str, str]:
        """Name the flood marks of a client's IP and email."""
        return self.keys.flood("ip", ip_hash), self.keys.flood("email", email_hash)

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
        """List articles by first comment, newest first, with comments per state and settings."""
        key = self.keys.articles()
        top = after[0] if after else "+inf"
        # After a cursor, skip what the previous page showed at the same score.
        raw: Any = self.client.zrange(
            key, top, "-inf", byscore=True, desc=True, offset=0, num=limit + 200, withscores=True
        )
        ranked = [(_text(member), int(score)) for member, score in raw]
        if after is not None:
            names = [name for name, _ in ranked]
            ranked = ranked[names.index(after[1]) + 1 :] if after[1] in names else ranked
        ranked = ranked[:limit]
        pipe = self.client.pipeline(transaction=False)
        for article_id, _ in ranked:
            for status in Status.indexed():
                pipe.zcard(self.keys.article_status(article_id, status))
            pipe.hgetall(self.keys.article(article_id))
        replies = iter(pipe.execute())
        page = []
        for article_id, first_ms in ranked:
            counts = {status: int(next(replies)) for status in Status.indexed()}
            page.append((article_id, first_ms, counts, _decoded(next(replies))))
        return page

    # --- moderators -----------------------------------------------------------------------
    @_guarded
    def moderator_by_token(self, token_hash: str) -> str | None:
        """Find the moderator record a token's hash belongs to."""
        record = self.client.hget(self.keys.moderators(), token_hash)
        return _text(record) if record is not None else None

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
    def pending_before(self, cutoff_ms: int, limit: int) -> list[str]:
        """List up to `limit` pending comment ids that arrived before a moment."""
        ids = self.client.zrange(
            self.keys.queue(Status.PENDING),
            "-",
            f"({cutoff_ms:012x}",
            bylex=True,
            offset=0,
            num=limit,
        )
        return [_text(comment_id) for comment_id in ids]

    # --- health -------------------------------------------------------------------------
    @_guarded
    def eviction_policy(self) -> str:
        """Ask Redis which eviction policy it runs with (this also proves it answers)."""
        info = self.client.info("memory")
        return str(info.get("maxmemory_policy", "unknown"))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decoded(record: Any) -> dict[str, str]:
    return {_text(key): _text(value) for key, value in record.items()}
