"""Every Redis key name the service uses, built here and nowhere else.

The layout is the same on one server, behind Sentinel and on a Redis Cluster, so moving between
them is a copy of the keys. It is built so that every Lua step and every MULTI touches one hash
slot, while the site-wide views stay exact:

* **Buckets.** Every article belongs to one of `BUCKETS` buckets, fixed by a hash of its id and
  chosen once for all time. A bucket's keys share one hash tag (`{7.12}`: the bucket number and
  a suffix that spreads the buckets evenly over the 16384 slots), so they share a slot.
* **An article's keys** live in its bucket: `prefix:{tag}:a:<article id>:comments` (every
  comment's record, one field each) and so on.
  The `a:` segment keeps every article id, whatever it is, apart from the bucket's own keys.
* **Each site-wide index is split by bucket**: the bucket's share of the state queues, published
  counts, approved comments per email hash, the comment locator, the email index, the article
  list, the audit log and the events stream, under the same tag as the bucket's articles. A step
  on one comment changes its article and its bucket's shares atomically; a site-wide read merges
  the buckets' shares, pipelined (one round trip per node on a cluster).
* **Comment ids carry their bucket** (two hex digits after the 12 of the creation time), so a
  comment is found from its id alone. Ids made before buckets (22 digits) are looked up in every
  bucket's locator.
* **Per-client keys** (flood marks, a network's pending comments, kept Idempotency-Key
  answers, rate-limit windows) carry no tag, so they spread over every slot. Site settings
  (block list, moderator tokens) share the `{site}` tag, and so do the sign-in locks, so a
  moderator request reads its lock and its token in one round trip; webhook delivery
  bookkeeping the `{webhooks}` tag.

No key name ever holds an email address: a key kept by email is named by a keyed hash (HMAC) of
it, and the email index's shards by that hash's first character.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from service.models import Status

# Fixed once: a comment's bucket is part of its id and of every key of its article.
BUCKETS = 16
# New comment ids: 12 hex digits of milliseconds, 2 of the bucket, 10 random.
COMMENT_ID_LENGTH = 24
# Ids made before buckets existed: 12 hex digits of milliseconds, 10 random.
LEGACY_COMMENT_ID_LENGTH = 22
# The layout `Keys` names, stored under `Keys.layout()` once data is written in it.
LAYOUT = "compact-indexes"
# The layout before it: a sorted set per email, email hashes and fingerprints in hex, one
# comment locator a bucket.
PACKED_LAYOUT = "packed-records"
# A bucket's comment locator is split in this many hashes, each a compact listpack while it holds
# at most 128 comments (up to some 260,000 comments a site); a comment's shard comes from its id.
LOCATOR_SHARDS = 128


@cache
def bucket_tags() -> tuple[str, ...]:
    """Give each bucket's hash tag: the first `<bucket>.<n>` whose slot falls in the bucket's
    even share of the slot range, so an evenly split cluster holds an even share of buckets."""
    tags = []
    for bucket in range(BUCKETS):
        low = bucket * REDIS_CLUSTER_HASH_SLOTS // BUCKETS
        high = (bucket + 1) * REDIS_CLUSTER_HASH_SLOTS // BUCKETS
        suffix = 0
        while not low <= key_slot(f"{bucket}.{suffix}".encode()) < high:
            suffix += 1
        tags.append(f"{bucket}.{suffix}")
    return tuple(tags)


def article_bucket(article_id: str) -> int:
    """Give the bucket an article's keys live in (stable: a CRC-32 of its id)."""
    return zlib.crc32(article_id.encode()) % BUCKETS


def comment_bucket(comment_id: str) -> int | None:
    """Give the bucket a comment id names, or None for an id made before buckets."""
    if len(comment_id) != COMMENT_ID_LENGTH:
        return None
    bucket = int(comment_id[12:14], 16)
    return bucket if bucket < BUCKETS else None


@dataclass(frozen=True)
class Keys:
    """Build key names under one configurable prefix."""

    prefix: str

    def __post_init__(self) -> None:
        if "{" in self.prefix or "}" in self.prefix:
            raise ValueError("the key prefix cannot hold { or }: they would move the hash tag")

    def _bucket(self, bucket: int) -> str:
        return f"{self.prefix}:{{{bucket_tags()[bucket]}}}"

    def _article(self, article_id: str) -> str:
        return f"{self._bucket(article_bucket(article_id))}:a:{article_id}"

    # --- one article ----------------------------------------------------------------------
    def comments(self, article_id: str) -> str:
        """Hash of the article's comment ids to their records: public fields, moderation state
        and encrypted private data, as compact JSON (see `service.records`)."""
        return f"{self._article(article_id)}:comments"

    def fingerprints(self, article_id: str) -> str:
        """Hash of duplicate fingerprint (parent, email hash and text) to the comment id."""
        return f"{self._article(article_id)}:fingerprints"

    def article_status(self, article_id: str, status: Status) -> str:
        """Sorted set of the article's comment ids in one state (score 0, ordered by id)."""
        return f"{self._article(article_id)}:status:{status}"

    def article_statuses(self, article_id: str) -> list[str]:
        """The article's state indexes, in `Status.indexed()` order."""
        return [self.article_status(article_id, status) for status in Status.indexed()]

    def revisions(self, article_id: str, comment_id: str) -> str:
        """List of a comment's texts, original first, once a moderator has edited it."""
        return f"{self._article(article_id)}:revisions:{comment_id}"

    def roots(self, article_id: str) -> str:
        """Sorted set of top-level comments shown in the public list, scored by creation time."""
        return f"{self._article(article_id)}:roots"

    def thread(self, article_id: str, root_id: str) -> str:
        """Sorted set of the replies under one top-level comment, scored by creation time."""
        return f"{self._article(article_id)}:thread:{root_id}"

    def live(self, article_id: str) -> str:
        """Hash of top-level comment id to the number of published comments in its thread."""
        return f"{self._article(article_id)}:live"

    def version(self, article_id: str) -> str:
        """String naming the current version of the article's public list; changes with it."""
        return f"{self._article(article_id)}:version"

    def article(self, article_id: str) -> str:
        """Hash of the article's settings: closed, moderation mode, first comment time."""
        return f"{self._article(article_id)}:article"

    # --- a bucket's share of the site-wide indexes ----------------------------------------
    def queue(self, bucket: int, status: Status) -> str:
        """Sorted set of the bucket's comment ids in one state (score 0, by id = arrival)."""
        return f"{self._bucket(bucket)}:status:{status}"

    def queues(self, bucket: int) -> list[str]:
        """The bucket's state indexes, in `Status.indexed()` order."""
        return [self.queue(bucket, status) for status in Status.indexed()]

    def published_counts(self, bucket: int) -> str:
        """Hash of article id to its number of published comments (kept by the Lua steps)."""
        return f"{self._bucket(bucket)}:published-counts"

    def approved_by_email(self, bucket: int) -> str:
        """Hash of email hash to that email's approved comments in the bucket."""
        return f"{self._bucket(bucket)}:approved-by-email"

    def locator(self, bucket: int, comment_id: str) -> str:
        """Hash of comment id to where it lives: its article, and for a reply its thread's
        top-level comment and its parent (`Locator.dumps`), for the bucket's comments of one
        shard (`LOCATOR_SHARDS`, by a CRC-32 of the id)."""
        shard = zlib.crc32(comment_id.encode()) % LOCATOR_SHARDS
        return f"{self._bucket(bucket)}:locator:{shard}"

    def email_index(self, bucket: int, email_hash: str) -> str:
        """Hash of email hashes to the space-separated ids of the bucket's comments written with
        each, for the emails whose hash starts with the same character as this one: 64 shards a
        bucket, each a compact listpack while it holds few emails of one or two comments."""
        return f"{self._bucket(bucket)}:emails:{email_hash[:1]}"

    def articles(self, bucket: int) -> str:
        """Sorted set of the bucket's articles with comments, scored by first comment time."""
        return f"{self._bucket(bucket)}:articles"

    def events(self, bucket: int) -> str:
        """Stream of the bucket's comment events for webhooks and email (ids and states only)."""
        return f"{self._bucket(bucket)}:events"

    def audit(self, bucket: int) -> str:
        """Stream of the bucket's moderation actions, oldest first (it never holds an email)."""
        return f"{self._bucket(bucket)}:audit"

    # --- site settings --------------------------------------------------------------------
    def blocks(self, kind: str) -> str:
        """Set of blocked emails (as hashes), email domains or IP networks."""
        return f"{self.prefix}:{{site}}:blocks:{kind}"

    def moderators(self) -> str:
        """Hash of a moderator token's SHA-256 to the moderator it belongs to."""
        return f"{self.prefix}:{{site}}:moderators"

    def sign_in_lock(self, client_hash: str) -> str:
        """String set while a client that presented too many wrong moderator tokens must wait;
        it expires when the wait is over."""
        return f"{self.prefix}:{{site}}:sign-in-lock:{client_hash}"

    def layout(self) -> str:
        """String naming the layout the data is kept in (`LAYOUT`), written with the first
        comment; data without it is in the layout before packed records."""
        return f"{self.prefix}:{{site}}:layout"

    def key_check(self) -> str:
        """String holding the key check value of the secret key the data is sealed with."""
        return f"{self.prefix}:{{site}}:key-check"

    # --- per client: no hash tag, spread over the slots -----------------------------------
    def flood(self, kind: str, client_hash: str) -> str:
        """String marking that a client (by IP or email hash) has just posted."""
        return f"{self.prefix}:flood:{kind}:{client_hash}"

    def pending_from(self, client_hash: str) -> str:
        """String of the ids of the pending comments one client network sent, one after another
        (24 characters each); ids no longer pending are trimmed when it is read at its cap (see
        Store)."""
        return f"{self.prefix}:pending-from:{client_hash}"

    def idempotency(self, key_hash: str) -> str:
        """String holding the first answer given for an Idempotency-Key."""
        return f"{self.prefix}:idempotency:{key_hash}"

    def rate_limits(self) -> str:
        """Prefix of the rate limiter's own keys."""
        return f"{self.prefix}:limits"

    def sign_in_failures(self) -> str:
        """Prefix of the rate limiter's keys counting wrong moderator tokens per client."""
        return f"{self.prefix}:sign-in-failures"

    # --- webhook delivery (service/webhooks.py) -------------------------------------------
    def webhook_log(self) -> str:
        """Capped stream of delivery attempts: ids, URL, result, duration (no personal data)."""
        return f"{self.prefix}:{{webhooks}}:log"

    def webhook_retries(self) -> str:
        """Sorted set of delivery ids awaiting another attempt, scored by when it is due (ms)."""
        return f"{self.prefix}:{{webhooks}}:retries"

    def webhook_retry_records(self) -> str:
        """Hash of a scheduled delivery's id to its record: event, URL, attempts made."""
        return f"{self.prefix}:{{webhooks}}:retry-records"

    def webhook_dead_letters(self) -> str:
        """List of deliveries that failed every attempt, newest first."""
        return f"{self.prefix}:{{webhooks}}:dead-letters"

    def webhook_finished(self, delivery_id: str) -> str:
        """String marking a delivery finished (delivered or dead-lettered), for a while."""
        return f"{self.prefix}:{{webhooks}}:finished:{delivery_id}"

    def article_scope(self, article_id: str) -> str:
        """Give the common start of every key of one article (for moving keys between layouts)."""
        return self._article(article_id)

    def bucket_scope(self, bucket: int) -> str:
        """Give the common start of every key of one bucket (for moving keys between layouts)."""
        return self._bucket(bucket)

    # --- readers' reports (service/reports_store.py) --------------------------------------
    def reports(self, article_id: str, comment_id: str) -> str:
        """Hash of a comment's open reports: `n:<reason>` counts, `r:<reporter hash>` details
        (JSON, the first few), `hidden` (when the reports took it out of publication)."""
        return f"{self._article(article_id)}:reports:{comment_id}"

    def reporters(self, article_id: str, comment_id: str) -> str:
        """Set of the keyed hashes of every client that reported a comment (one report each)."""
        return f"{self._article(article_id)}:reporters:{comment_id}"

    def reported(self, bucket: int) -> str:
        """Sorted set of the bucket's comments with open reports, scored by their number."""
        return f"{self._bucket(bucket)}:reported"

    def report_limits(self) -> str:
        """Prefix of the rate limiter's keys counting readers' reports per client."""
        return f"{self.prefix}:report-limits"

    # --- the learning spam filter (service/spam_filter_store.py): one `{spam-filter}` tag ---
    def spam_filter_shards(self) -> str:
        """The name of the slot shards up to their number: shard N, a hash of up to 128 feature
        slots (by slot within the shard) to their learned counts, is this name and N (the Lua
        steps add the number)."""
        return f"{self.prefix}:{{spam-filter}}:slots:"

    def spam_filter_totals(self) -> str:
        """Hash of what the spam filter learned overall: comments and weights per class."""
        return f"{self.prefix}:{{spam-filter}}:totals"

    def spam_filter_records(self) -> str:
        """Hash of comment id to what the spam filter learned from it (label and slots only)."""
        return f"{self.prefix}:{{spam-filter}}:records"

    def spam_filter_record_order(self) -> str:
        """Sorted set of the comment ids with a learned record, scored by when it was learned."""
        return f"{self.prefix}:{{spam-filter}}:record-order"


# Bucket-wide names in the layout before buckets, under the `{global}` tag; every other name
# there belonged to an article whose id was "global".
_LEGACY_SITE_WIDE = (
    "status:",
    "published-counts",
    "approved-by-email",
    "locator",
    "email:",
    "articles",
    "events",
    "audit",
    "flood:",
    "blocks:",
    "moderators",
    "idempotency:",
    "limits",
    "webhooks:",
)


@dataclass(frozen=True)
class LegacyKeys:
    """Name and read the keys of the layout before buckets (until `news-comments migrate-keys`
    moves them): `prefix:{<article id>}:…` for an article's keys, `prefix:{global}:…` for every
    site-wide index."""

    prefix: str

    def site_wide(self, name: str) -> str:
        """Give a site-wide key of the old layout, such as `locator` or `status:pending`."""
        return f"{self.prefix}:{{global}}:{name}"

    def pattern(self) -> str:
        """Glob matching every key with a hash tag under the prefix (old and new layouts)."""
        escaped = "".join(f"\\{char}" if char in "*?[]\\" else char for char in self.prefix)
        return f"{escaped}:{{*}}:*"

    def split(self, key: str) -> tuple[str, str] | None:
        """Read an old-layout key as (article id, rest) for an article's key, ("", rest) for a
        site-wide one, or None for a key of the new layout or none of ours."""
        start = f"{self.prefix}:{{"
        if not key.startswith(start) or "}:" not in key[len(start) :]:
            return None
        tag, _, rest = key[len(start) :].partition("}:")
        if tag in bucket_tags() or tag in ("site", "webhooks", "spam-filter"):
            return None
        if tag == "global" and rest.startswith(_LEGACY_SITE_WIDE):
            return "", rest
        return tag, rest


@dataclass(frozen=True)
class PackedKeys:
    """Name the keys of the layouts before compact indexes that today's layout splits (a sorted
    set per email and bucket, named by the email's hash in hex; one comment locator a bucket),
    until `news-comments migrate-keys` splits them."""

    keys: Keys

    def email_index(self, bucket: int, email_hash: str) -> str:
        """Sorted set of the bucket's comment ids written with one email."""
        return f"{self.keys.bucket_scope(bucket)}:email:{email_hash}"

    def locator(self, bucket: int) -> str:
        """Hash of the bucket's comment ids to where each lives (`Locator.dumps`, or before
        packed records a JSON list)."""
        return f"{self.keys.bucket_scope(bucket)}:locator"


@dataclass(frozen=True)
class UnpackedKeys:
    """Name the per-comment keys of the layout before packed records (a hash, a private data
    string and a duplicate fingerprint string per comment), until `news-comments migrate-keys`
    packs them into their article's `Keys.comments` hash."""

    keys: Keys

    def comment(self, article_id: str, comment_id: str) -> str:
        """Hash holding a comment's public record and moderation state."""
        return f"{self.keys.article_scope(article_id)}:comment:{comment_id}"

    def private(self, article_id: str, comment_id: str) -> str:
        """String holding a comment's encrypted email, IP and user agent."""
        return f"{self.keys.article_scope(article_id)}:private:{comment_id}"

    def duplicate(self, article_id: str, fingerprint: str) -> str:
        """String naming the comment with this fingerprint."""
        return f"{self.keys.article_scope(article_id)}:duplicate:{fingerprint}"
