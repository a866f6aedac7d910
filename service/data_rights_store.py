"""The Redis reads and writes of readers' data rights: export, erasure and retention.

Key names come from `service.keys.Keys` only; Redis failures become `StoreUnavailable`, as in
`service.store`, so no key name reaches a caller. Deletions go through `Store.delete`.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable
from typing import NamedTuple

from redis.cluster import RedisCluster

from service import records
from service.keys import BUCKETS, comment_bucket
from service.models import Act, Status
from service.store import Locator, Store, StoreUnavailable, _guarded, _script_source, _text, batches

# A Redis glob matches these characters specially; a key prefix holding one is escaped.
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


@dataclasses.dataclass(frozen=True)
class Redaction:
    """What to change on one comment's public record besides taking its private data: a new
    name (its website and avatar go with the old one), a new text; None keeps what is there."""

    name: str | None = None
    body: str | None = None


class Decided(NamedTuple):
    """A comment's state and decision time as read: `decided_at` in RFC 3339, `kept` as its
    record keeps it, as text (what `redact`'s `only_if` compares); None for none."""

    state: str | None
    decided_at: str | None
    kept: str | None


class Redacted(NamedTuple):
    """What one redaction found: the comment's state ("missing", "kept" when `only_if` no
    longer held), whether it had private data, and whether it was still in the email index."""

    state: str
    had_private: bool = False
    was_indexed: bool = False


class DataRightsStore:
    """Read what is held about an email, and remove it, on top of the comment store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.client = store.client
        self.keys = store.keys
        self._anonymize = self.client.register_script(
            _script_source("anonymize", transition=False, email_index=True)
        )
        self._unindex = self.client.register_script(
            _script_source("unindex_email", transition=False, email_index=True)
        )
        self._reseal = self.client.register_script(_script_source("reseal", transition=False))

    # --- reads --------------------------------------------------------------------------
    def comment_ids(self, email_hash: str, limit: int, after: str | None = None) -> list[str]:
        """List up to `limit` ids of the comments written with an email, oldest first."""
        return self.store.ids_by_email(email_hash, limit, after)

    @_guarded
    def email_facts(self, email_hash: str) -> tuple[bool, int]:
        """Tell whether an email is on the block list, and how many approved comments it has."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hexists(self.keys.blocks("emails"), email_hash)
        for bucket in range(BUCKETS):
            pipe.hget(self.keys.approved_by_email(bucket), email_hash)
        blocked, *approved = pipe.execute()
        return bool(blocked), sum(int(count or 0) for count in approved)

    def in_state(self, status: Status, limit: int, after: str | None = None) -> list[str]:
        """List up to `limit` ids of the comments in one state, oldest first, after an id."""
        return self.store.ids_in_state(status, limit, after)

    @_guarded
    def decisions(self, references: list[tuple[str, str]]) -> list[Decided]:
        """Read the state and decision time of (article id, comment id) pairs."""
        answers: list[Decided] = []
        stored = self.store.raw_records(references)
        for (_, comment_id), raw in zip(references, stored, strict=True):
            members = records.load(raw) if raw is not None else {}
            kept = members.get(records.SHORT_NAMES["decided_at"])
            if kept is None:
                answers.append(Decided(members.get("s"), None, None))
            else:
                decided_at = records.moment_of(comment_id, kept)
                answers.append(Decided(members.get("s"), decided_at, str(kept)))
        return answers

    @_guarded
    def sealed(self, references: list[tuple[str, str]]) -> list[bytes | None]:
        """Read the sealed private data of (article id, comment id) pairs."""
        return [records.sealed_of(raw) for raw in self.store.raw_records(references)]

    # --- writes -------------------------------------------------------------------------
    @_guarded
    def redact(
        self,
        comment_id: str,
        locator: Locator,
        redaction: Redaction,
        forget_email: bool,
        only_if: tuple[Status, str] | None = None,
    ) -> Redacted:
        """Delete a comment's private data and its lookups by email hash, and redact its public
        record, in one step. `forget_email` (an erasure) also drops the email's approved count
        and flood mark, and every trace of the readers' reports on the comment; `only_if`
        (state, decided_at as the record keeps it: `Decided.kept`) leaves a comment re-decided
        meanwhile alone."""
        keys, article_id, bucket = self.keys, locator.article_id, locator.bucket
        # The email index to leave is named by the email hash the record keeps, read first; the
        # step checks it is still that one.
        for _ in range(3):
            email_hash = self.store.author_of(article_id, comment_id)
            result = self._anonymize(
                keys=[
                    keys.comments(article_id),
                    keys.email_index(bucket, email_hash),
                    keys.approved_by_email(bucket),
                    keys.fingerprints(article_id),
                    keys.version(article_id),
                    keys.revisions(article_id, comment_id),
                    keys.events(bucket),
                    keys.reports(article_id, comment_id),
                    keys.reported(bucket),
                    keys.reporters(article_id, comment_id),
                ],
                args=[
                    comment_id,
                    secrets.token_hex(8),
                    "1" if forget_email else "0",
                    redaction.name or "",
                    "1" if redaction.body is not None else "0",
                    redaction.body or "",
                    str(only_if[0]) if only_if else "",
                    only_if[1] if only_if else "",
                    self.store.events_kept,
                    article_id,
                    email_hash,
                    "1" if forget_email else "0",
                ],
            )
            if _text(result[0]) != "moved":
                break
        else:
            raise StoreUnavailable("the comment kept changing while it was erased")
        if forget_email and email_hash:
            self.client.delete(keys.flood("email", email_hash))
        return Redacted(_text(result[0]), *(bool(int(flag)) for flag in result[1:]))

    def delete(self, comment_id: str, locator: Locator, act: Act) -> str:
        """Delete a comment as a moderator would (`Store.delete`): placeholder, counts, audit."""
        return self.store.delete(comment_id, locator, act)

    @_guarded
    def unindex(self, email_hash: str, comment_ids: list[str]) -> None:
        """Take comment ids out of an email's index (those another step already handled): one
        step per bucket."""
        by_bucket: dict[int, list[str]] = {}
        for comment_id in comment_ids:
            bucket = comment_bucket(comment_id)
            for each in range(BUCKETS) if bucket is None else [bucket]:
                by_bucket.setdefault(each, []).append(comment_id)
        for bucket, ids in by_bucket.items():
            self._unindex(keys=[self.keys.email_index(bucket, email_hash)], args=[email_hash, *ids])

    @_guarded
    def forget_email(self, email_hash: str) -> None:
        """Remove every lookup named or keyed by an email's hash: its index, approved count and
        flood mark (the block list is left to moderators)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(self.keys.flood("email", email_hash))
        for bucket in range(BUCKETS):
            pipe.hdel(self.keys.email_index(bucket, email_hash), email_hash)
            pipe.hdel(self.keys.approved_by_email(bucket), email_hash)
        pipe.execute()

    @_guarded
    def drop_kept_answers(self, holds_email: Callable[[str], bool]) -> int:
        """Delete the kept Idempotency-Key answers `holds_email` picks out; answer how many. They
        expire within a day, but until then they show the comment as it was."""
        prefix = _GLOB_SPECIAL.sub(r"\\\1", self.keys.idempotency(""))
        dropped = 0
        for batch in batches(self.client.scan_iter(match=f"{prefix}*", count=1000), 200):
            values = (
                self.client.mget_nonatomic(batch)
                if isinstance(self.client, RedisCluster)
                else self.client.mget(batch)
            )
            doomed = [
                key
                for key, value in zip(batch, values, strict=True)
                if value is not None and holds_email(_text(value))
            ]
            if doomed:
                dropped += int(self.client.delete(*doomed))
        return dropped

    @_guarded
    def reseal(self, article_id: str, comment_id: str, sealed: bytes, resealed: bytes) -> bool:
        """Replace a comment's sealed private data if it is still `sealed`; tell whether it was."""
        return bool(
            self._reseal(keys=[self.keys.comments(article_id)], args=[comment_id, sealed, resealed])
        )
