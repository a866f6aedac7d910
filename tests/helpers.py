"""Small helpers the tests share: valid submissions, common flows through the HTTP API, and
reads of the stored state that merge the buckets' shares of each site-wide index.

The raw client may be one server or a cluster: every read here sends one command per key (no
command spans two slots).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Iterable
from typing import Any

from flask.testing import FlaskClient
from redis.client import NEVER_DECODE

from service import records
from service.keys import (
    BUCKETS,
    PACKED_LAYOUT,
    Keys,
    PackedKeys,
    UnpackedKeys,
    article_bucket,
)
from service.models import Status
from service.spam_filter import SHARD_SIZE
from service.topology import RedisClient

_counter = itertools.count()


def reply(**fields: Any) -> dict[str, Any]:
    """Give a valid submission, with some fields replaced."""
    number = next(_counter)
    base = {"name": "Ann Reader", "email": f"ann{number}@example.com", "body": f"Comment {number}"}
    return {**base, **fields}


def submit(client: FlaskClient, article_id: str = "article-1", **fields: Any) -> dict[str, Any]:
    """Submit a reply and give its public view; fail loudly if it is not accepted."""
    response = client.post(f"/api/v1/articles/{article_id}/comments", json=reply(**fields))
    assert response.status_code == 202, response.get_json()
    comment: dict[str, Any] = response.get_json()["comment"]
    return comment


def decide(
    client: FlaskClient, headers: dict[str, str], comment_id: str, action: str, **body: Any
) -> dict[str, Any]:
    """Take a moderation decision and give the updated item."""
    response = client.post(
        f"/api/v1/moderation/comments/{comment_id}/{action}", headers=headers, json=body or None
    )
    assert response.status_code == 200, response.get_json()
    item: dict[str, Any] = response.get_json()
    return item


def publish(
    client: FlaskClient, headers: dict[str, str], article_id: str = "article-1", **fields: Any
) -> dict[str, Any]:
    """Submit and approve a reply; give its public view."""
    comment = submit(client, article_id, **fields)
    decide(client, headers, comment["id"], "approve")
    return comment


def moderation_item(
    client: FlaskClient, headers: dict[str, str], comment_id: str
) -> dict[str, Any]:
    """Read one comment as moderators see it."""
    response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    found: dict[str, Any] = response.get_json()
    return found


def listing(client: FlaskClient, article_id: str = "article-1", **query: Any) -> dict[str, Any]:
    """Read an article's published list."""
    response = client.get(f"/api/v1/articles/{article_id}/comments", query_string=query)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def keyspace_mentions(redis_client: RedisClient, needle: str) -> list[str]:
    """Scan the whole keyspace; name every key whose name or stored value contains `needle`."""
    found = []
    for key in redis_client.scan_iter(count=1000):
        kind = redis_client.type(key)
        if kind == "string":
            values = [redis_client.get(key) or ""]
        elif kind == "hash":
            # Read undecoded: the spam filter's learned records are binary, no text.
            pairs = redis_client.execute_command("HGETALL", key, **{NEVER_DECODE: []})
            values = [item.decode(errors="replace") for pair in pairs.items() for item in pair]
        elif kind == "zset":
            values = redis_client.zrange(key, 0, -1)
        elif kind == "set":
            values = list(redis_client.smembers(key))
        elif kind == "list":
            values = redis_client.lrange(key, 0, -1)
        elif kind == "stream":
            entries = redis_client.xrange(key)
            values = [str(fields) for _, fields in entries]
        else:
            values = []
        if needle in key or any(needle in str(value) for value in values):
            found.append(key)
    return found


# --- stored state, merged over the buckets --------------------------------------------------
def state_ids(redis_client: RedisClient, key_prefix: str, status: Status) -> list[str]:
    """List the ids in one state site-wide, oldest first (each bucket's share read alone)."""
    keys = Keys(key_prefix)
    ids: list[str] = []
    for bucket in range(BUCKETS):
        ids.extend(_text(item) for item in redis_client.zrange(keys.queue(bucket, status), 0, -1))
    return sorted(ids)


def pending_ids(redis_client: RedisClient, key_prefix: str) -> list[str]:
    """List the pending ids site-wide, oldest first."""
    return state_ids(redis_client, key_prefix, Status.PENDING)


def in_state_index(
    redis_client: RedisClient, key_prefix: str, status: Status, comment_id: str
) -> bool:
    """Tell whether a comment is in some bucket's share of a state's index."""
    keys = Keys(key_prefix)
    return any(
        redis_client.zscore(keys.queue(bucket, status), comment_id) is not None
        for bucket in range(BUCKETS)
    )


def _stream_entries(
    redis_client: RedisClient, names: list[str]
) -> list[tuple[str, dict[str, str]]]:
    """Read every bucket's stream; give `<ms>-<seq>-<bucket>` positions, oldest first."""
    entries = []
    for bucket, name in enumerate(names):
        for entry_id, fields in redis_client.xrange(name):
            ms, seq = (int(part) for part in _text(entry_id).split("-"))
            entries.append(((ms, seq, bucket), {_text(k): _text(v) for k, v in fields.items()}))
    entries.sort(key=lambda entry: entry[0])
    return [(f"{ms}-{seq}-{bucket}", fields) for (ms, seq, bucket), fields in entries]


def event_entries(redis_client: RedisClient, key_prefix: str) -> list[tuple[str, dict[str, str]]]:
    """Read the comment events site-wide, oldest first, named by their positions."""
    keys = Keys(key_prefix)
    return _stream_entries(redis_client, [keys.events(bucket) for bucket in range(BUCKETS)])


def event_streams(redis_client: RedisClient, key_prefix: str) -> list[str]:
    """Name the buckets' event streams that exist."""
    keys = Keys(key_prefix)
    names = [keys.events(bucket) for bucket in range(BUCKETS)]
    return [name for name in names if redis_client.exists(name)]


def audit_entries(redis_client: RedisClient, key_prefix: str) -> list[tuple[str, dict[str, str]]]:
    """Read the audit log site-wide, oldest first, named by positions like the API's."""
    keys = Keys(key_prefix)
    return _stream_entries(redis_client, [keys.audit(bucket) for bucket in range(BUCKETS)])


def audit_streams(redis_client: RedisClient, key_prefix: str) -> list[str]:
    """Name the buckets' audit streams that exist."""
    keys = Keys(key_prefix)
    names = [keys.audit(bucket) for bucket in range(BUCKETS)]
    return [name for name in names if redis_client.exists(name)]


def flood_marks(redis_client: RedisClient, key_prefix: str, kind: str = "*") -> list[str]:
    """Name the flood marks set (by `ip`, `email`, or any kind)."""
    found = redis_client.scan_iter(match=f"{key_prefix}:flood:{kind}:*", count=1000)
    return sorted(_text(key) for key in found)


def approved_by_email(redis_client: RedisClient, key_prefix: str) -> dict[str, int]:
    """Give each email hash's approved comments, summed over the buckets."""
    keys = Keys(key_prefix)
    totals: dict[str, int] = {}
    for bucket in range(BUCKETS):
        for email_hash, count in redis_client.hgetall(keys.approved_by_email(bucket)).items():
            totals[_text(email_hash)] = totals.get(_text(email_hash), 0) + int(count)
    return totals


def located(redis_client: RedisClient, key_prefix: str, comment_id: str) -> bool:
    """Tell whether some bucket's locator knows a comment."""
    keys = Keys(key_prefix)
    return any(
        redis_client.hexists(keys.locator(bucket, comment_id), comment_id)
        for bucket in range(BUCKETS)
    )


def stored_ids(redis_client: RedisClient, key_prefix: str) -> list[str]:
    """List the ids of every stored comment record under the prefix, in every article."""
    found = redis_client.scan_iter(match=f"{key_prefix}:*:a:*:comments", count=1000)
    return sorted(_text(comment_id) for key in found for comment_id in redis_client.hkeys(key))


def stored_members(
    redis_client: RedisClient, key_prefix: str, article_id: str, comment_id: str
) -> dict[str, Any]:
    """Read a comment's stored record as its JSON members (empty when there is none)."""
    raw = redis_client.hget(Keys(key_prefix).comments(article_id), comment_id)
    return records.load(raw) if raw is not None else {}


def stored_fields(
    redis_client: RedisClient, key_prefix: str, article_id: str, comment_id: str
) -> dict[str, str]:
    """Read a comment's stored record by its full field names, as the service reads it (empty
    when there is none)."""
    raw = redis_client.hget(Keys(key_prefix).comments(article_id), comment_id)
    return records.unpack(article_id, comment_id, raw) if raw is not None else {}


def slot_counts(
    redis_client: RedisClient, key_prefix: str, slots: Iterable[int]
) -> dict[int, tuple[int, int, int] | None]:
    """Read the spam filter's counts of some slots from their shards: slot -> (spam weight,
    legitimate weight, learned comments), None for a slot nothing taught."""
    shards = Keys(key_prefix).spam_filter_shards()
    found: dict[int, tuple[int, int, int] | None] = {}
    for slot in slots:
        value = redis_client.hget(f"{shards}{slot // SHARD_SIZE}", str(slot % SHARD_SIZE))
        if value is None:
            found[slot] = None
        else:
            spam, ham, comments = (int(part) for part in _text(value).split(":"))
            found[slot] = (spam, ham, comments)
    return found


def _text(value: Any) -> str:
    """Read a reply from a client with or without decode_responses."""
    return value.decode() if isinstance(value, bytes) else str(value)


def unpack_records(redis_client: RedisClient, key_prefix: str) -> None:
    """Rewrite today's packed records as the layout before them kept each comment, as a
    deployment of that version would hold them: a hash, a private data string and a duplicate
    fingerprint string per comment, the locator's records as JSON lists, no layout noted."""
    keys = Keys(key_prefix)
    unpacked = UnpackedKeys(keys)
    located: dict[str, str] = {}
    for bucket in range(BUCKETS):
        located.update(
            (_text(comment_id), _text(value))
            for comment_id, value in redis_client.hgetall(PackedKeys(keys).locator(bucket)).items()
        )
    for name in list(redis_client.scan_iter(match=f"{key_prefix}:*:a:*:comments", count=1000)):
        key = _text(name)
        for raw_id, raw in redis_client.hgetall(key).items():
            comment_id = _text(raw_id)
            members = records.load(raw)
            article_id = key.split(":a:", 1)[1].removesuffix(":comments")
            fields = records.unpack(article_id, comment_id, raw)
            redis_client.hset(unpacked.comment(article_id, comment_id), mapping=fields)
            if members.get(records.SEALED):
                redis_client.set(unpacked.private(article_id, comment_id), members[records.SEALED])
            fingerprint = members.get(records.FINGERPRINT, "")
            if fingerprint:
                redis_client.set(unpacked.duplicate(article_id, fingerprint), comment_id)
            if comment_id in located:
                root_id = fields["root_id"]
                old = [
                    article_id,
                    root_id,
                    records.created_ms_of(root_id),
                    fields.get("parent_id"),
                    records.created_ms_of(comment_id),
                    members.get(records.EMAIL_HASH, ""),
                    fingerprint,
                ]
                bucket = article_bucket(article_id)
                redis_client.hset(PackedKeys(keys).locator(bucket), comment_id, json.dumps(old))
        redis_client.delete(key)
    for name in list(redis_client.scan_iter(match=f"{key_prefix}:*:a:*:fingerprints", count=1000)):
        redis_client.delete(name)
    redis_client.delete(keys.layout())


def _hex_email_hash(email_hash: str) -> str:
    """Give an email hash in the hex form kept before (256 bits) that today's form was cut from:
    its 128 bits, then any 128 more."""
    return base64.urlsafe_b64decode(email_hash + "==").hex() + "5" * 32


def expand_indexes(redis_client: RedisClient, key_prefix: str) -> None:
    """Rewrite today's compact indexes as the layout before them kept them: one comment locator
    a bucket, a sorted set per email and bucket, email hashes (in records, field names, index
    names) in hex, duplicate fingerprints of 32 hex digits, a sorted set of each network's
    pending comments, the layout noted as packed records."""
    keys = Keys(key_prefix)
    packed = PackedKeys(keys)
    for bucket in range(BUCKETS):
        shards = redis_client.scan_iter(match=f"{keys.bucket_scope(bucket)}:locator:*", count=1000)
        for shard in list(shards):
            redis_client.hset(packed.locator(bucket), mapping=redis_client.hgetall(shard))
            redis_client.delete(shard)
        shards = redis_client.scan_iter(match=f"{keys.email_index(bucket, '')}*", count=1000)
        for shard in list(shards):
            for email_hash, ids in redis_client.hgetall(shard).items():
                old = packed.email_index(bucket, _hex_email_hash(_text(email_hash)))
                redis_client.zadd(old, dict.fromkeys(_text(ids).split(), 0))
            redis_client.delete(shard)
    by_email = [keys.approved_by_email(bucket) for bucket in range(BUCKETS)]
    by_email.append(keys.blocks("emails"))
    for name in by_email:
        for email_hash, value in redis_client.hgetall(name).items():
            redis_client.hdel(name, email_hash)
            redis_client.hset(name, _hex_email_hash(_text(email_hash)), value)
    for name in list(redis_client.scan_iter(match=f"{key_prefix}:*:a:*:comments", count=1000)):
        key = _text(name)
        article_id = key.split(":a:", 1)[1].removesuffix(":comments")
        for raw_id, raw in redis_client.hgetall(key).items():
            members = records.load(raw)
            if members.get(records.EMAIL_HASH):
                members[records.EMAIL_HASH] = _hex_email_hash(members[records.EMAIL_HASH])
            fingerprint = members.get(records.FINGERPRINT)
            if fingerprint:
                old = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
                members[records.FINGERPRINT] = old
                redis_client.hdel(keys.fingerprints(article_id), fingerprint)
                redis_client.hset(keys.fingerprints(article_id), old, raw_id)
            redis_client.hset(key, raw_id, json.dumps(members, separators=(",", ":")))
    for name in list(redis_client.scan_iter(match=f"{keys.pending_from('')}*", count=1000)):
        ids, ttl = _text(redis_client.get(name)), redis_client.pttl(name)
        redis_client.delete(name)
        members = [ids[at : at + 24] for at in range(0, len(ids), 24)]
        redis_client.zadd(name, {member: records.created_ms_of(member) for member in members})
        redis_client.pexpire(name, ttl)
    redis_client.set(keys.layout(), PACKED_LAYOUT)
