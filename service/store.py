"""Every Redis command the service sends: reads, pipelines and the Lua transitions."""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis

from service.keys import Keys
from service.models import Comment, Status

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


def _script_source(name: str) -> str:
    return resources.files("service").joinpath("lua", f"{name}.lua").read_text()


@dataclass(frozen=True)
class Locator:
    """Where a comment lives: what its key names need, fixed when it is written."""

    article_id: str
    root_id: str
    root_ms: int
    parent_id: str | None
    created_ms: int
    email_hash: str

    def dumps(self) -> str:
        """Serialize for the locator hash."""
        return json.dumps(
            [
                self.article_id,
                self.root_id,
                self.root_ms,
                self.parent_id,
                self.created_ms,
                self.email_hash,
            ]
        )

    @classmethod
    def loads(cls, raw: str) -> Locator:
        """Read back what `dumps` wrote."""
        article_id, root_id, root_ms, parent_id, created_ms, email_hash = json.loads(raw)
        return cls(article_id, root_id, root_ms, parent_id, created_ms, email_hash)


@dataclass(frozen=True)
class Thread:
    """A top-level comment's record with its replies' records, oldest first."""

    root: dict[str, str]
    replies: list[dict[str, str]]


class Store:
    """Read and change comments in Redis; knows nothing of HTTP."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._submit = client.register_script(_script_source("submit"))
        self._decide = client.register_script(_script_source("decide"))
        self._delete = client.register_script(_script_source("delete"))

    # --- writes -------------------------------------------------------------------------
    @_guarded
    def add_pending(self, comment: Comment, sealed_private: bytes, locator: Locator) -> str:
        """Store a new pending comment once; answer "created", "exists" or "no_parent"."""
        keys = self.keys
        article_id, comment_id = comment.article_id, comment.comment_id
        parent_key = keys.comment(article_id, comment.parent_id or comment_id)
        fields = [item for pair in comment.to_fields().items() for item in pair]
        result = self._submit(
            keys=[
                keys.comment(article_id, comment_id),
                keys.private(article_id, comment_id),
                keys.locator(),
                keys.queue(Status.PENDING),
                keys.article_status(article_id, Status.PENDING),
                keys.email_index(locator.email_hash),
                parent_key,
            ],
            args=[comment_id, sealed_private, locator.dumps(), comment.parent_id or "", *fields],
        )
        return _text(result)

    @_guarded
    def decide(
        self,
        comment_id: str,
        locator: Locator,
        status: Status,
        moderator: str,
        decided_at: str,
        reason: str | None,
    ) -> tuple[str, Status | None]:
        """Move a comment to a decided state; answer the outcome and the previous state."""
        keys, article_id = self.keys, locator.article_id
        result = self._decide(
            keys=[
                keys.comment(article_id, comment_id),
                *keys.queues(),
                *keys.article_statuses(article_id),
                keys.roots(article_id),
                keys.live(article_id),
                keys.thread(article_id, locator.root_id),
                keys.version(article_id),
                keys.published_counts(),
            ],
            args=[
                comment_id,
                str(status),
                moderator,
                decided_at,
                reason or "",
                locator.root_id,
                locator.root_ms,
                locator.created_ms,
                _new_version(),
                article_id,
            ],
        )
        outcome = _text(result[0])
        previous = Status(_text(result[1])) if len(result) > 1 else None
        return outcome, previous

    @_guarded
    def delete(self, comment_id: str, locator: Locator) -> str:
        """Delete a comment and its private data; answer "missing", "deleted" or "placeholder"."""
        keys, article_id = self.keys, locator.article_id
        parent_key = keys.comment(article_id, locator.parent_id or comment_id)
        result = self._delete(
            keys=[
                keys.comment(article_id, comment_id),
                keys.private(article_id, comment_id),
                keys.locator(),
                *keys.queues(),
                *keys.article_statuses(article_id),
                keys.roots(article_id),
                keys.live(article_id),
                keys.thread(article_id, locator.root_id),
                keys.email_index(locator.email_hash),
                parent_key,
                keys.version(article_id),
                keys.published_counts(),
            ],
            args=[
                comment_id,
                locator.root_id,
                "1" if locator.parent_id else "0",
                _new_version(),
                article_id,
            ],
        )
        return _text(result)

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
        self, status: Status, article_id: str | None, limit: int, after: str | None
    ) -> list[str]:
        """List up to `limit` comment ids in one state: pending oldest first, others newest."""
        key = (
            self.keys.article_status(article_id, status) if article_id else self.keys.queue(status)
        )
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

    # --- health -------------------------------------------------------------------------
    @_guarded
    def eviction_policy(self) -> str:
        """Ask Redis which eviction policy it runs with (this also proves it answers)."""
        info = self.client.info("memory")
        return str(info.get("maxmemory_policy", "unknown"))


def _new_version() -> str:
    return secrets.token_hex(8)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _decoded(record: Any) -> dict[str, str]:
    return {_text(key): _text(value) for key, value in record.items()}
