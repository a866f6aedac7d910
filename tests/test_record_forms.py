"""A comment's record and an audit entry keep less than they did, and what the version before
stored reads as it did: the avatar seed derives from the email hash the record keeps, a decision
or edit time is kept as seconds from the comment's creation, the private data is sealed in
base85, and an audit entry's time derives from its stream id."""

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
    moderation_item,
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
    assert moderation_item(client, moderator, before["id"])["avatar"] == old_seed

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
    assert moderation_item(client, moderator, comment["id"])["avatar"] == PRIVACY.avatar_seed(email)


# --- decision and edit times ---------------------------------------------------------------


def test_a_moment_is_kept_as_seconds_from_the_comments_creation() -> None:
    comment_id = "01a253afdd2e06af5e2c48a3"
    created = records.rfc3339_of_ms(records.created_ms_of(comment_id))
    assert created == "2026-12-08T03:26:04Z"
    fields = {"status": "approved", "decided_by": "alice", "decided_at": "2026-12-08T04:26:05Z"}
    fields |= {"edited_by": "bob", "edited_at": created, "body": "Text"}
    packed = records.pack(comment_id, fields)
    members = json.loads(packed)
    assert (members["at"], members["ea"]) == (3601, 0)
    assert '"at":3601' in packed
    unpacked = records.unpack(ARTICLE, comment_id, packed)
    assert {name: unpacked[name] for name in fields} == fields
    # A moment in another form, or stored before as text, is kept and read as that text.
    for moment in (
        "2026-12-08T04:26:05+00:00",
        "2026-12-08T04:26:05.250Z",
        "2026-12-08T04:26:05",
        "not a moment",
        "2001-01-01T00:00:00Z",
    ):
        kept = records.kept_moment(comment_id, moment)
        assert records.moment_of(comment_id, kept) == moment
        packed = records.pack(comment_id, {"status": "rejected", "decided_at": moment})
        assert records.unpack(ARTICLE, comment_id, packed)["decided_at"] == moment
    assert records.kept_moment(comment_id, "2001-01-01T00:00:00Z") < 0
    old = json.dumps({"s": "approved", "at": "2024-01-02T03:04:05Z", "ea": "2024-01-03T00:00:00Z"})
    assert records.unpack(ARTICLE, comment_id, old)["decided_at"] == "2024-01-02T03:04:05Z"
    assert records.unpack(ARTICLE, comment_id, old)["edited_at"] == "2024-01-03T00:00:00Z"


def test_decisions_edits_and_staff_replies_keep_their_time_in_seconds(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = submit(client)
    decided = decide(client, moderator, comment["id"], "approve")
    edited = client.post(
        f"/api/v1/moderation/comments/{comment['id']}/edit", headers=moderator, json={"body": "B"}
    ).get_json()
    stored = stored_members(redis_client, key_prefix, ARTICLE, comment["id"])
    assert isinstance(stored["at"], int) and isinstance(stored["ea"], int)
    assert 0 <= stored["at"] <= stored["ea"] < 60
    created_s = records.created_ms_of(comment["id"]) // 1000
    for moment, seconds in (
        (decided["decided_at"], stored["at"]),
        (edited["edited_at"], stored["ea"]),
    ):
        assert moment == records.rfc3339_of_ms((created_s + seconds) * 1000)
    assert moderation_item(client, moderator, comment["id"])["decided_at"] == decided["decided_at"]

    staff = client.post(
        f"/api/v1/moderation/articles/{ARTICLE}/comments", headers=moderator, json={"body": "Hi"}
    ).get_json()
    assert stored_members(redis_client, key_prefix, ARTICLE, staff["id"])["at"] == 0
    assert moderation_item(client, moderator, staff["id"])["decided_at"] == staff["created_at"]


def test_decision_times_stored_before_as_text_still_read(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = submit(client)
    decide(client, moderator, comment["id"], "approve")
    client.post(
        f"/api/v1/moderation/comments/{comment['id']}/edit", headers=moderator, json={"body": "B"}
    )
    rewrite(
        redis_client,
        key_prefix,
        comment["id"],
        at="2024-01-02T03:04:05Z",
        ea="2024-01-03T00:00:00Z",
    )
    shown_item = moderation_item(client, moderator, comment["id"])
    assert (shown_item["decided_at"], shown_item["edited_at"]) == (
        "2024-01-02T03:04:05Z",
        "2024-01-03T00:00:00Z",
    )
    decided = decide(client, moderator, comment["id"], "reject")
    assert isinstance(stored_members(redis_client, key_prefix, ARTICLE, comment["id"])["at"], int)
    assert moderation_item(client, moderator, comment["id"])["decided_at"] == decided["decided_at"]


def test_retention_reads_either_form_of_decision_time(
    app: Flask, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    """Retention finds what is due by the decision time and erases only a comment still decided
    then: the step compares the time as the record keeps it, a number or (from before) text."""
    client = app.test_client()
    as_number, as_text, recent = (submit(client) for _ in range(3))
    for comment in (as_number, as_text, recent):
        decide(client, moderator, comment["id"], "spam")
    days_ago = -100 * 86400
    rewrite(redis_client, key_prefix, as_number["id"], at=days_ago)
    rewrite(redis_client, key_prefix, as_text["id"], at="2001-01-01T00:00:00Z")
    report = app.extensions[EXTENSION].data_rights.apply_retention()
    assert (report.ip_removed, report.private_deleted) == (0, 2)
    for comment in (as_number, as_text):
        stored = stored_members(redis_client, key_prefix, ARTICLE, comment["id"])
        assert records.SEALED not in stored and records.EMAIL_HASH not in stored
    assert records.SEALED in stored_members(redis_client, key_prefix, ARTICLE, recent["id"])
    created_s = records.created_ms_of(as_number["id"]) // 1000
    assert moderation_item(client, moderator, as_number["id"])[
        "decided_at"
    ] == records.rfc3339_of_ms((created_s + days_ago) * 1000)


# --- sealed private data --------------------------------------------------------------------


def test_private_data_sealed_in_base64_before_opens_and_is_sealed_again_in_base85(
    app: Flask, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    """Retention seals a comment's private data again without its IP and user agent: on data
    sealed before (form "3", base64) it compares what it read and writes today's form."""
    client = app.test_client()
    email = "sealed-before@example.com"
    comment = publish(client, moderator, email=email)
    before = moderation_item(client, moderator, comment["id"])
    assert before["ip"] and before["user_agent"]
    joined = "\x1f".join([email, before["ip"], before["user_agent"]])
    old = PRIVACY._seal(joined.encode(), b"3").decode()
    rewrite(redis_client, key_prefix, comment["id"], x=old, at=-40 * 86400)
    opened = moderation_item(client, moderator, comment["id"])
    private = (opened["email"], opened["ip"], opened["user_agent"])
    assert private == (email, before["ip"], before["user_agent"])

    report = app.extensions[EXTENSION].data_rights.apply_retention()
    assert (report.ip_removed, report.private_deleted) == (1, 0)
    sealed = stored_members(redis_client, key_prefix, ARTICLE, comment["id"])[records.SEALED]
    assert sealed.startswith("4") and PRIVACY.opens(sealed.encode())
    after = moderation_item(client, moderator, comment["id"])
    assert (after["email"], after["ip"], after["user_agent"]) == (email, "", "")
    assert app.extensions[EXTENSION].data_rights.apply_retention().ip_removed == 0


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
