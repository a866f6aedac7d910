"""Move a deployment's data from older layouts to today's (`news-comments migrate-keys`).

Three moves, each run when its layout is found: from the layout before buckets (`KeyMigration`,
in place on the one server it ran on), then from a hash per comment to packed records
(`RecordPacking`, on any topology), then to compact indexes (`IndexCompaction`, on any topology:
the email index and the comment locator as hashes of many shards a bucket, email hashes and
duplicate fingerprints in their shorter forms).

Safe to interrupt and to run again: each article key moves with one RENAME (a key already moved
is skipped); each site-wide index is copied into its buckets' shares with writes that give the
same result when repeated (stream entries keep their ids, so a copied one is not copied twice);
the old site-wide keys are deleted only once everything is copied, the comment locator last,
since every step routes comments through it. Run it with the service stopped: the service
refuses to start while keys of the old layout remain.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from service import records
from service.admission import duplicate_fingerprint, fingerprint_of_hex
from service.keys import (
    BUCKETS,
    LAYOUT,
    PACKED_LAYOUT,
    Keys,
    LegacyKeys,
    PackedKeys,
    UnpackedKeys,
    article_bucket,
)
from service.models import Status
from service.privacy import email_hash_of_hex
from service.store import Locator, _script_source, batches
from service.topology import RedisClient

log = logging.getLogger(__name__)

BATCH = 1000
# Old site-wide keys whose name is kept, under the tag that groups them now.
_RENAMED: dict[str, Callable[[Keys, str], str]] = {
    "moderators": lambda keys, rest: keys.moderators(),
    "blocks:": lambda keys, rest: keys.blocks(rest.removeprefix("blocks:")),
    "flood:": lambda keys, rest: keys.flood(*rest.removeprefix("flood:").split(":", 1)),
    "idempotency:": lambda keys, rest: keys.idempotency(rest.removeprefix("idempotency:")),
    "webhooks:log": lambda keys, rest: keys.webhook_log(),
    "webhooks:retries": lambda keys, rest: keys.webhook_retries(),
    "webhooks:retry-records": lambda keys, rest: keys.webhook_retry_records(),
    "webhooks:dead-letters": lambda keys, rest: keys.webhook_dead_letters(),
    "webhooks:finished:": lambda keys, rest: keys.webhook_finished(
        rest.removeprefix("webhooks:finished:")
    ),
}
_MAX_SEQUENCE = 2**64 - 1
_BODY, _PARENT = records.SHORT_NAMES["body"], records.SHORT_NAMES["parent_id"]


class MigrationError(RuntimeError):
    """The data cannot be moved here (the reason is one line)."""


@dataclass
class MigrationReport:
    """What one run moved."""

    article_keys: int = 0
    site_keys: int = 0
    comments: int = 0
    stream_entries: int = 0
    unroutable: int = 0
    removed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Describe the run in a few lines for the command line."""
        lines = [
            f"Moved {self.article_keys} article key(s) and {self.site_keys} site key(s); "
            f"routed {self.comments} comment(s) and {self.stream_entries} stream entries "
            "into their buckets."
        ]
        if self.unroutable:
            lines.append(f"  {self.unroutable} index entries named no comment and were dropped.")
        if not any((self.article_keys, self.site_keys, self.comments, self.removed)):
            lines = ["Nothing to move: the data is in today's layout."]
        return lines


def legacy_layout_present(client: RedisClient, prefix: str) -> bool:
    """Tell whether keys of the layout before buckets remain (the service will not run on them)."""
    legacy = LegacyKeys(prefix)
    names = ["locator", "moderators", "audit", *(f"status:{status}" for status in Status.indexed())]
    # All under the `{global}` tag: one slot, so one EXISTS on any topology.
    return bool(client.exists(*(legacy.site_wide(name) for name in names)))


class KeyMigration:
    """Move one prefix's keys from the old layout to today's, on one server."""

    def __init__(self, client: RedisClient, prefix: str) -> None:
        if not isinstance(client, redis.Redis):
            raise MigrationError(
                "migrate-keys runs on the one server the old layout lived on; move the data to "
                "a cluster afterwards (README, 'Scaling out')"
            )
        self.client: redis.Redis = client
        self.keys = Keys(prefix)
        self.legacy = LegacyKeys(prefix)
        self.report = MigrationReport()
        self._articles: dict[str, str] = {}

    def run(self) -> MigrationReport:
        """Move everything; answer what moved."""
        self._load_locator()
        self._move_named_keys()
        self._copy_locator()
        self._split_state_indexes()
        self._split_published_counts()
        self._recount_approved_by_email()
        self._split_email_indexes()
        self._split_articles()
        for name in ("events", "audit"):
            self._split_stream(name)
        self._remove_old_site_indexes()
        return self.report

    # --- routing --------------------------------------------------------------------------
    def _load_locator(self) -> None:
        """Read which article each comment belongs to, from the old comment locator."""
        for comment_id, record in self._hscan(self.legacy.site_wide("locator")):
            self._articles[comment_id] = json.loads(record)[0]

    def _bucket_of(self, comment_id: str) -> int | None:
        article_id = self._articles.get(comment_id)
        if article_id is None:
            self.report.unroutable += 1
            return None
        return article_bucket(article_id)

    # --- keys that move whole -------------------------------------------------------------
    def _move_named_keys(self) -> None:
        """RENAME each article key, and each site key kept whole, to its new name."""
        for key in self.client.scan_iter(match=self.legacy.pattern(), count=BATCH):
            name = key.decode()
            parts = self.legacy.split(name)
            if parts is None:
                continue
            article_id, rest = parts
            if article_id:
                target = f"{self.keys.article_scope(article_id)}:{rest}"
                self.report.article_keys += self._rename(name, target)
                continue
            for start, target_of in _RENAMED.items():
                if rest.startswith(start):
                    self.report.site_keys += self._rename(name, target_of(self.keys, rest))
                    break
            else:
                if rest.startswith("limits"):
                    # Rate-limit windows of a few minutes at most: they start afresh.
                    self.client.delete(name)
                    self.report.removed.append(rest)

    def _rename(self, source: str, target: str) -> int:
        try:
            self.client.rename(source, target)
        except redis.ResponseError as error:
            if "no such key" in str(error).lower():
                return 0  # moved meanwhile, by an earlier run
            raise
        return 1

    # --- site-wide indexes split by bucket ------------------------------------------------
    def _copy_locator(self) -> None:
        for batch in batches(self._hscan(self.legacy.site_wide("locator")), BATCH):
            pipe = self.client.pipeline(transaction=False)
            for comment_id, record in batch:
                bucket = article_bucket(self._articles[comment_id])
                pipe.hset(PackedKeys(self.keys).locator(bucket), comment_id, record)
            pipe.execute()
            self.report.comments += len(batch)

    def _split_state_indexes(self) -> None:
        for status in Status.indexed():
            source = self.legacy.site_wide(f"status:{status}")
            for batch in batches(self._zscan(source), BATCH):
                pipe = self.client.pipeline(transaction=False)
                for comment_id, _ in batch:
                    bucket = self._bucket_of(comment_id)
                    if bucket is None:
                        continue
                    pipe.zadd(self.keys.queue(bucket, status), {comment_id: 0})
                    if self._articles[comment_id] == "global":
                        # The article "global" shared this key with the site-wide index.
                        pipe.zadd(self.keys.article_status("global", status), {comment_id: 0})
                pipe.execute()

    def _split_published_counts(self) -> None:
        for batch in batches(self._hscan(self.legacy.site_wide("published-counts")), BATCH):
            pipe = self.client.pipeline(transaction=False)
            for article_id, count in batch:
                pipe.hset(self.keys.published_counts(article_bucket(article_id)), article_id, count)
            pipe.execute()

    def _recount_approved_by_email(self) -> None:
        """Count each email's approved comments per bucket from the comments themselves."""
        counts: dict[tuple[int, str], int] = defaultdict(int)
        locator = self.legacy.site_wide("locator")
        approved = self.legacy.site_wide(f"status:{Status.APPROVED}")
        for batch in batches(self._zscan(approved), BATCH):
            records = self.client.hmget(locator, [comment_id for comment_id, _ in batch])
            for record in records:
                if record is not None:
                    article_id, *_, email_hash, _ = json.loads(record)
                    if email_hash:
                        counts[(article_bucket(article_id), email_hash)] += 1
        pipe = self.client.pipeline(transaction=False)
        for (bucket, email_hash), count in counts.items():
            pipe.hset(self.keys.approved_by_email(bucket), email_hash, count)
        pipe.execute()

    def _split_email_indexes(self) -> None:
        for key in self.client.scan_iter(match=self.legacy.site_wide("email:*"), count=BATCH):
            name = key.decode()
            email_hash = name.rpartition(":")[2]
            for batch in batches(self._zscan(name), BATCH):
                pipe = self.client.pipeline(transaction=False)
                for comment_id, _ in batch:
                    bucket = self._bucket_of(comment_id)
                    if bucket is not None:
                        # A sorted set per email, as the layout before compact indexes had it:
                        # `IndexCompaction` folds it next.
                        pipe.zadd(
                            PackedKeys(self.keys).email_index(bucket, email_hash),
                            {comment_id: 0},
                        )
                pipe.execute()
            self.client.delete(name)

    def _split_articles(self) -> None:
        source = self.legacy.site_wide("articles")
        for batch in batches(self._zscan(source), BATCH):
            pipe = self.client.pipeline(transaction=False)
            for article_id, score in batch:
                pipe.zadd(self.keys.articles(article_bucket(article_id)), {article_id: score})
            pipe.execute()

    def _split_stream(self, name: str) -> None:
        """Copy a stream's entries into their buckets' streams, ids kept; consumer groups start
        where the old one stood (entries delivered but not acknowledged are delivered again)."""
        source = self.legacy.site_wide(name)
        if not self.client.exists(source):
            return
        target_of = self.keys.events if name == "events" else self.keys.audit
        last = "-"
        while entries := self.client.xrange(source, last, "+", count=BATCH):
            entry: Any
            for entry in entries:
                entry_id, fields = entry
                article_id = fields.get(b"article_id", b"").decode()
                bucket = article_bucket(article_id) if article_id else 0
                try:
                    self.client.xadd(target_of(bucket), fields, id=entry_id)
                    self.report.stream_entries += 1
                except redis.ResponseError:
                    pass  # copied by an earlier run
            last = f"({_text(entries[-1][0])}"
        for group in self.client.xinfo_groups(source):
            start = _restart_position(self.client, source, group)
            for bucket in range(BUCKETS):
                try:
                    self.client.xgroup_create(
                        target_of(bucket), group["name"], start, mkstream=True
                    )
                except redis.ResponseError as error:
                    if "BUSYGROUP" not in str(error):
                        raise

    def _remove_old_site_indexes(self) -> None:
        names = [
            *(f"status:{status}" for status in Status.indexed()),
            "published-counts",
            "approved-by-email",
            "articles",
            "events",
            "audit",
            "locator",  # last: a re-run routes comments through it
        ]
        for name in names:
            if self.client.delete(self.legacy.site_wide(name)):
                self.report.removed.append(name)

    # --- reading --------------------------------------------------------------------------
    def _hscan(self, key: str) -> Iterator[tuple[str, str]]:
        for item, value in self.client.hscan_iter(key, count=BATCH):
            yield item.decode(), value.decode()

    def _zscan(self, key: str) -> Iterator[tuple[str, float]]:
        for member, score in self.client.zscan_iter(key, count=BATCH):
            yield member.decode(), score


def unpacked_layout_present(client: RedisClient, prefix: str) -> bool:
    """Tell whether comments are kept in the layout before packed records: there are comments,
    and no layout was noted with the first write (the service will not run on them)."""
    keys = Keys(prefix)
    if client.exists(keys.layout()):
        return False
    pipe = client.pipeline(transaction=False)
    for bucket in range(BUCKETS):
        pipe.exists(PackedKeys(keys).locator(bucket))
    return any(pipe.execute())


class RecordPacking:
    """Pack each comment's hash, private data and duplicate fingerprint into its article's
    records hash, bucket by bucket; safe to interrupt and to run again, on any topology."""

    def __init__(self, client: RedisClient, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self.unpacked = UnpackedKeys(self.keys)
        self._pack = client.register_script(_script_source("pack_record", transition=False))

    def run(self) -> int:
        """Pack every comment left in the old layout; answer how many were packed."""
        packed = 0
        pattern = f"{_glob_escaped(self.keys.prefix)}:{{*}}:a:*:comment:*"
        for batch in batches(self.client.scan_iter(match=pattern, count=BATCH), 200):
            names = [_text(name) for name in batch]
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(name)
            for fields in pipe.execute():
                packed += self._pack_one({_text(k): _text(v) for k, v in fields.items()})
        # Packed: `IndexCompaction` takes the data on from there (today's data is left as is).
        self.client.set(self.keys.layout(), PACKED_LAYOUT, nx=True)
        return packed

    def _pack_one(self, fields: dict[str, str]) -> int:
        comment_id, article_id = fields.get("id"), fields.get("article_id")
        if not comment_id or not article_id:
            return 0
        bucket = article_bucket(article_id)
        located = self.client.hget(PackedKeys(self.keys).locator(bucket), comment_id)
        email_hash = fingerprint = ""
        new_locator = ""
        if located is not None:
            old = json.loads(_text(located))
            email_hash, fingerprint = str(old[5] or ""), str(old[6] or "")
            new_locator = Locator(old[0], old[1], old[3]).dumps(comment_id)
        sealed = self.client.get(self.unpacked.private(article_id, comment_id))
        record = records.pack(comment_id, fields, email_hash, fingerprint[:32], sealed or b"")
        return int(
            self._pack(
                keys=[
                    self.unpacked.comment(article_id, comment_id),
                    self.unpacked.private(article_id, comment_id),
                    self.unpacked.duplicate(article_id, fingerprint),
                    self.keys.comments(article_id),
                    self.keys.fingerprints(article_id),
                    PackedKeys(self.keys).locator(bucket),
                ],
                args=[comment_id, record, new_locator, fingerprint[:32]],
            )
        )


def compaction_pending(client: RedisClient, prefix: str) -> bool:
    """Tell whether the data is kept in the layout before compact indexes (the service will
    not run on it)."""
    return _text(client.get(Keys(prefix).layout()) or "") == PACKED_LAYOUT


@dataclass
class CompactionReport:
    """What one run of `IndexCompaction` rewrote."""

    records: int = 0
    email_sets: int = 0
    fields: int = 0
    pending_lists: int = 0
    located: int = 0

    def lines(self) -> list[str]:
        """Describe the run in one line, or none when it changed nothing."""
        counts = (self.records, self.email_sets, self.fields, self.pending_lists, self.located)
        if not any(counts):
            return []
        return [
            f"Compacted {self.records} record(s), {self.email_sets} email index set(s), "
            f"{self.fields} email-keyed field(s), {self.pending_lists} network pending list(s) "
            f"and {self.located} locator entries."
        ]


class IndexCompaction:
    """Move packed records' data to compact indexes: each email's sorted set folded into its
    shard of the email index, email hashes (in records, field names and the index) cut from 256
    bits in hex to 128 in base64, duplicate fingerprints to 96 bits in base64, each network's
    pending comments from a sorted set to a string of ids, each bucket's comment locator split in
    its shards. Each rewrite is one atomic step that leaves today's forms alone: safe to
    interrupt and to run again."""

    def __init__(self, client: RedisClient, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self.report = CompactionReport()
        self._fold = client.register_script(
            _script_source("fold_email_set", transition=False, email_index=True)
        )
        self._compact = client.register_script(_script_source("compact_record", transition=False))
        self._rename = client.register_script(_script_source("rename_field", transition=False))
        self._pending_list = client.register_script(
            _script_source("pending_list", transition=False)
        )
        self._move = client.register_script(_script_source("move_field", transition=False))

    def run(self) -> CompactionReport:
        """Compact everything, then note today's layout; answer what was rewritten."""
        for key in self._scan(f"{_glob_escaped(self.keys.prefix)}:{{*}}:a:*:comments"):
            self._compact_records(key)
        packed = PackedKeys(self.keys)
        for bucket in range(BUCKETS):
            for comment_id, _ in self._hscan(packed.locator(bucket)):
                shard = self.keys.locator(bucket, comment_id)
                moved = self._move(keys=[packed.locator(bucket), shard], args=[comment_id])
                self.report.located += int(moved)
            for key in self._scan(f"{_glob_escaped(packed.email_index(bucket, ''))}*"):
                old_hash = key.rpartition(":")[2]
                if _is_hex(old_hash, 64):
                    new_hash = email_hash_of_hex(old_hash)
                    shard = self.keys.email_index(bucket, new_hash)
                    self._fold(keys=[key, shard], args=[new_hash])
                    self.report.email_sets += 1
            self._rename_fields(self.keys.approved_by_email(bucket), "sum")
        self._rename_fields(self.keys.blocks("emails"), "keep")
        for key in self._scan(f"{_glob_escaped(self.keys.pending_from(''))}*"):
            self.report.pending_lists += int(self._pending_list(keys=[key]))
        self.client.set(self.keys.layout(), LAYOUT)
        return self.report

    def _compact_records(self, key: str) -> None:
        article_id = key.partition("}:a:")[2].removesuffix(":comments")
        for comment_id, raw in self._hscan(key):
            for _ in range(3):
                rewritten = _compacted(article_id, raw)
                if rewritten is None:
                    break
                record, old_fingerprint, fingerprint = rewritten
                done = self._compact(
                    keys=[key, self.keys.fingerprints(article_id)],
                    args=[comment_id, raw, record, old_fingerprint, fingerprint],
                )
                if done:
                    self.report.records += 1
                    break
                raw = _text(self.client.hget(key, comment_id) or "")
                if not raw:
                    break

    def _rename_fields(self, key: str, mode: str) -> None:
        for field_name, _ in self._hscan(key):
            if _is_hex(field_name, 64):
                new_name = email_hash_of_hex(field_name)
                self.report.fields += self._rename(keys=[key], args=[field_name, new_name, mode])

    def _scan(self, pattern: str) -> list[str]:
        return [_text(key) for key in self.client.scan_iter(match=pattern, count=BATCH)]

    def _hscan(self, key: str) -> list[tuple[str, str]]:
        return [
            (_text(name), _text(value)) for name, value in self.client.hscan_iter(key, count=BATCH)
        ]


def _compacted(article_id: str, raw: str) -> tuple[str, str, str] | None:
    """Give a record with its email hash and fingerprint in today's forms, its fingerprint as
    it was and as it is now; None when it holds them so already. A fingerprint is computed again
    from the comment (its text now) when the record names its author, else cut."""
    members = records.load(raw)
    email_hash = str(members.get(records.EMAIL_HASH, ""))
    old_fingerprint = str(members.get(records.FINGERPRINT, ""))
    if not _is_hex(email_hash, 64) and not _is_hex(old_fingerprint, 32, 64):
        return None
    if _is_hex(email_hash, 64):
        email_hash = email_hash_of_hex(email_hash)
        members[records.EMAIL_HASH] = email_hash
    fingerprint = old_fingerprint
    if old_fingerprint:
        body, parent_id = members.get(_BODY), members.get(_PARENT)
        if email_hash and body is not None:
            fingerprint = duplicate_fingerprint(
                article_id, str(parent_id) if parent_id else None, email_hash, str(body)
            )
        elif _is_hex(old_fingerprint, 32, 64):
            fingerprint = fingerprint_of_hex(old_fingerprint)
        members[records.FINGERPRINT] = fingerprint
    record = json.dumps(members, ensure_ascii=False, separators=(",", ":"))
    return record, old_fingerprint, fingerprint


def _is_hex(text: str, *lengths: int) -> bool:
    return len(text) in lengths and all(char in "0123456789abcdef" for char in text)


def _glob_escaped(text: str) -> str:
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


def _restart_position(client: redis.Redis, stream: str, group: dict[str, Any]) -> str:
    """Give the id after which a copy of `group` must deliver: just before its oldest entry
    delivered but not acknowledged, else where it stood."""
    summary: Any = client.xpending(stream, group["name"])
    oldest = summary.get("min") if summary and summary.get("pending") else None
    if not oldest:
        last = group["last-delivered-id"]
        return last.decode() if isinstance(last, bytes) else str(last)
    ms, seq = (
        int(part) for part in (oldest.decode() if isinstance(oldest, bytes) else oldest).split("-")
    )
    return f"{ms}-{seq - 1}" if seq else f"{ms - 1}-{_MAX_SEQUENCE}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
