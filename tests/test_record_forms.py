"""A comment's record and an audit entry keep less than they did, and what the version before
stored reads as it did: the avatar seed derives from the email hash the record keeps, and an
audit entry's time from its stream id."""

from __future__ import annotations

import json
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from service import EXTENSION, records
from service.keys import BUCKETS, Keys
from service.privacy import Privacy
from tests.conftest import SECRET_KEY, ClientFactory
from tests.helpers import (
    audit_entries,
    decide,
    keyspace_mentions,
    publish,
    reply,
    stored_members,
    submit,
)

PRIVACY = Privacy(SECRET_KEY)
ARTICLE = "article-1"
ERASE = "/api/v1/moderation/privacy/erase"


def rewrite(
    redis_client: redis.Redis, key_prefix: str, comment_id: str, **members: Any
) -> dict[str, Any]:
    """Set some members of a comment's stored record (None removes one), as an older version
    would have stored them; give the record as it is then."""
    key = Keys(key_prefix).comments(ARTICLE)
    record = json.loads(redis_client.hget(key, comment_id))
    record.update(members)
    record = {name: value for name, value in record.items() if value is not None}
    redis_client.hset(key, comment_id, json.dumps(record, separators=(",", ":")))
    return record


def shown(client: FlaskClient, comment_id: str) -> dict[str, Any]:
    """Read one published comment as readers see it."""
    response = client.get(f"/api/v1/articles/{ARTICLE}/comments/{comment_id}")
    assert response.status_code == 200, response.get_json()
    comment: dict[str, Any] = response.get_json()
    return comment


def item(client: FlaskClient, moderator: dict[str, str], comment_id: str) -> dict[str, Any]:
    """Read one comment as moderators see it."""
    response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=moderator)
    assert response.status_code == 200, response.get_json()
    found: dict[str, Any] = response.get_json()
    return found


# --- the avatar seed ------------------------------------------------------------------------


def test_the_avatar_seed_derives_from_the_email_hash(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    email = "seed@example.com"
    comment = publish(client, moderator, email=email)
    stored = stored_members(redis_client, key_prefix, ARTICLE, comment["id"])
    assert "v" not in stored
    seed = PRIVACY.avatar_seed(email)
    assert comment["avatar"] == seed == records.avatar_of(stored[records.EMAIL_HASH])
    assert len(seed) == 16 and seed not in stored[records.EMAIL_HASH]
    assert shown(client, comment["id"])["avatar"] == seed
    # The seed is no keyless function of the email itself.
    assert seed != records.avatar_of(email) and seed != PRIVACY.avatar_seed_before(email)


def test_a_comment_stored_with_its_avatar_seed_keeps_it(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    email = "returning@example.com"
    before = publish(client, moderator, email=email)
    old_seed = PRIVACY.avatar_seed_before(email)
    rewrite(redis_client, key_prefix, before["id"], v=old_seed)
    assert shown(client, before["id"])["avatar"] == old_seed
    assert item(client, moderator, before["id"])["avatar"] == old_seed

    # The reader comes back: the new comment's seed is computed the new way, the old one stays.
    after = publish(client, moderator, email=email)
    assert after["avatar"] == PRIVACY.avatar_seed(email) != old_seed
    assert shown(client, before["id"])["avatar"] == old_seed
    assert "v" not in stored_members(redis_client, key_prefix, ARTICLE, after["id"])
    # A decision rewrites the record in Lua: the stored seed stays, the derived one stays out.
    for comment in (before, after):
        decide(client, moderator, comment["id"], "reject")
    assert stored_members(redis_client, key_prefix, ARTICLE, before["id"])["v"] == old_seed
    assert "v" not in stored_members(redis_client, key_prefix, ARTICLE, after["id"])


def test_an_erasure_takes_either_seed_away(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    email = "forget-me@example.com"
    old_seed, seed = PRIVACY.avatar_seed_before(email), PRIVACY.avatar_seed(email)
    before = publish(client, moderator, email=email)
    rewrite(redis_client, key_prefix, before["id"], v=old_seed)
    after = publish(client, moderator, email=email)
    # Answers kept for an Idempotency-Key show each comment's seed, one kept before the new way.
    for key in ("kept-then", "kept-now"):
        answer = client.post(
            f"/api/v1/articles/{ARTICLE}/comments",
            json=reply(email=email),
            headers={"Idempotency-Key": key},
        )
        assert answer.status_code == 202
    kept = next(
        name
        for name in redis_client.scan_iter(match=f"{key_prefix}:idempotency:*")
        if seed in redis_client.get(name)
    )
    redis_client.set(kept, redis_client.get(kept).replace(seed, old_seed))
    assert keyspace_mentions(redis_client, old_seed) and keyspace_mentions(redis_client, seed)

    answer = client.post(ERASE, headers=moderator, json={"email": email})
    assert answer.status_code == 200 and answer.get_json()["erased"] == 4
    assert keyspace_mentions(redis_client, old_seed) == []
    assert keyspace_mentions(redis_client, seed) == []
    for comment in (before, after):
        assert shown(client, comment["id"])["avatar"] is None


def test_unlinking_a_comment_from_its_email_keeps_its_avatar(
    app: Flask, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    """Retention deletes a rejected comment's private data and its email hash, not its name:
    the seed the hash gave is kept in the record instead."""
    client = app.test_client()
    email = "unlinked@example.com"
    comment = submit(client, email=email)
    decide(client, moderator, comment["id"], "reject")
    rewrite(redis_client, key_prefix, comment["id"], at="2001-01-01T00:00:00Z")
    assert app.extensions[EXTENSION].data_rights.apply_retention().private_deleted == 1

    stored = stored_members(redis_client, key_prefix, ARTICLE, comment["id"])
    assert records.EMAIL_HASH not in stored and records.SEALED not in stored
    assert stored["v"] == PRIVACY.avatar_seed(email)
    assert item(client, moderator, comment["id"])["avatar"] == PRIVACY.avatar_seed(email)


# --- audit entries --------------------------------------------------------------------------


def test_an_audit_entrys_time_is_its_stream_ids(
    make_client: ClientFactory,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    client = make_client(report_threshold=1)
    moderation = "/api/v1/moderation"
    email = "audit-time@example.com"
    comment = publish(client, moderator, email=email)
    decide(client, moderator, submit(client)["id"], "reject")
    url = f"{moderation}/comments/{comment['id']}"
    assert client.post(f"{url}/edit", headers=moderator, json={"body": "New"}).status_code == 200
    reported = client.post(
        f"/api/v1/articles/{ARTICLE}/comments/{comment['id']}/reports", json={"reason": "spam"}
    )
    assert reported.status_code == 202
    assert client.post(f"{url}/dismiss-reports", headers=moderator).status_code == 200
    staff = {"body": "From the desk"}
    answer = client.post(f"{moderation}/articles/{ARTICLE}/comments", headers=moderator, json=staff)
    assert answer.status_code == 201
    assert client.post(f"{moderation}/articles/{ARTICLE}/close", headers=moderator)
    block = {"kind": "domain", "value": "spam.example"}
    assert client.post(f"{moderation}/blocks", headers=moderator, json=block).status_code == 200
    assert client.get(f"{moderation}/privacy/export?email={email}", headers=moderator)
    assert client.post(f"{moderation}/privacy/erase", headers=moderator, json={"email": email})
    assert client.delete(url, headers=moderator).status_code == 204

    stored = audit_entries(redis_client, key_prefix)
    assert {fields["action"] for _, fields in stored} == {
        "approve",
        "reject",
        "edit",
        "reported",
        "dismiss_reports",
        "staff_reply",
        "close",
        "block",
        "export",
        "anonymize",
        "delete",
    }
    assert not [fields for _, fields in stored if "at" in fields]
    # An entry written before, with its own `at`, keeps it; it sorts by its id as ever.
    keys = Keys(key_prefix)
    bucket = next(each for each in range(BUCKETS) if not redis_client.exists(keys.audit(each)))
    old = {"action": "close", "moderator": "bob", "article_id": "old", "at": "2001-09-09T01:46:40Z"}
    redis_client.xadd(keys.audit(bucket), old, id="1000000000000-0")

    response = client.get(f"{moderation}/audit", headers=moderator, query_string={"limit": 200})
    entries = response.get_json()["entries"]
    assert [entry["id"] for entry in entries] == [
        position for position, _ in reversed(audit_entries(redis_client, key_prefix))
    ]
    started = records.created_ms_of(comment["id"])
    for entry in entries[:-1]:
        ms = int(entry["id"].split("-")[0])
        assert entry["at"] == records.rfc3339_of_ms(ms) and started <= ms < started + 60_000
    assert entries[-1] == {"id": f"1000000000000-0-{bucket}", **old}
