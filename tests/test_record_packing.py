"""`news-comments migrate-keys` packs a deployment's comments kept one hash each (with a private
data key and a duplicate fingerprint key beside it) into their articles' records, and compacts
the indexes of packed records (the email index, email hashes and fingerprints in hex), on one
server and on a cluster; the service refuses to run until it has; every view reads the same
after."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from service import records
from service.cli import main
from service.key_migration import compaction_pending, unpacked_layout_present
from service.keys import LAYOUT, Keys
from service.topology import RedisClient
from tests.helpers import (
    approved_by_email,
    decide,
    expand_indexes,
    keyspace_mentions,
    listing,
    publish,
    stored_ids,
    stored_members,
    submit,
    unpack_records,
)

ARTICLE = "budget-2027"
DATA_RIGHTS = "/api/v1/moderation/privacy"


def views(client: FlaskClient, moderator: dict[str, str]) -> dict[str, Any]:
    """What readers and moderators see of the article."""
    queue = client.get("/api/v1/moderation/comments", headers=moderator).get_json()
    exported = client.get(
        f"{DATA_RIGHTS}/export", headers=moderator, query_string={"email": "kim@example.com"}
    ).get_json()
    return {
        "list": listing(client, ARTICLE),
        "queue": queue["comments"],
        "stats": client.get("/api/v1/moderation/stats", headers=moderator).get_json()["counts"],
        "export": exported["comments"],
    }


def test_comments_kept_one_hash_each_are_packed(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: RedisClient,
    key_prefix: str,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = publish(client, moderator, ARTICLE, email="kim@example.com")
    reply = publish(client, moderator, ARTICLE, parent_id=root["id"], email="lee@example.com")
    removed = publish(client, moderator, ARTICLE, email="kim@example.com")
    publish(client, moderator, ARTICLE, parent_id=removed["id"])
    assert client.delete(f"/api/v1/moderation/comments/{removed['id']}", headers=moderator)
    edited = client.post(
        f"/api/v1/moderation/comments/{reply['id']}/edit", headers=moderator, json={"body": "New"}
    )
    assert edited.status_code == 200
    submit(client, ARTICLE, email="kim@example.com", body="Still waiting")
    decide(client, moderator, submit(client, ARTICLE)["id"], "reject")
    before = views(client, moderator)
    ids = stored_ids(redis_client, key_prefix)
    assert len(ids) == 6

    expand_indexes(redis_client, key_prefix)
    unpack_records(redis_client, key_prefix)
    assert stored_ids(redis_client, key_prefix) == []
    assert unpacked_layout_present(redis_client, key_prefix)
    with pytest.raises(SystemExit) as refused:
        main(["purge"])
    assert "before packed records" in str(refused.value)
    assert "news-comments migrate-keys" in str(refused.value)

    assert main(["migrate-keys"]) == 0
    output = capsys.readouterr().out
    assert "Packed 6 comment(s)" in output
    compacted = "5 record(s), 4 email index set(s), 3 email-keyed field(s), 1 network pending"
    assert f"Compacted {compacted} list(s) and 5 locator entries" in output
    assert not unpacked_layout_present(redis_client, key_prefix)
    assert redis_client.get(Keys(key_prefix).layout()) == LAYOUT
    assert stored_ids(redis_client, key_prefix) == ids
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:comment:*")) == []
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:private:*")) == []
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:duplicate:*")) == []
    assert views(client, moderator) == before
    # The placeholder keeps its place and nothing else; the duplicate rule still holds.
    placeholder = stored_members(redis_client, key_prefix, ARTICLE, removed["id"])
    assert placeholder["s"] == "deleted" and records.SEALED not in placeholder
    assert_kept_after_migration(client, moderator, capsys, before, "Still waiting")


def test_indexes_of_packed_records_are_compacted(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: RedisClient,
    key_prefix: str,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = publish(client, moderator, ARTICLE, email="kim@example.com", body="First")
    publish(client, moderator, ARTICLE, parent_id=root["id"], email="kim@example.com")
    publish(client, moderator, "elsewhere", email="kim@example.com")
    publish(client, moderator, ARTICLE, email="lee@example.com")
    submit(client, ARTICLE, email="kim@example.com", body="Still waiting")
    blocked = client.post(
        "/api/v1/moderation/blocks",
        headers=moderator,
        json={"kind": "email", "value": "spam@example.com"},
    )
    assert blocked.status_code == 200, blocked.get_json()
    before = views(client, moderator)
    blocks = client.get("/api/v1/moderation/blocks", headers=moderator).get_json()
    approved = approved_by_email(redis_client, key_prefix)
    assert sorted(approved.values()) == [1, 3]

    expand_indexes(redis_client, key_prefix)
    assert compaction_pending(redis_client, key_prefix)
    with pytest.raises(SystemExit) as refused:
        main(["purge"])
    assert "before compact indexes" in str(refused.value)

    assert main(["migrate-keys"]) == 0
    compacted = "5 record(s), 3 email index set(s), 4 email-keyed field(s), 1 network pending"
    assert f"Compacted {compacted} list(s) and 5 locator entries" in capsys.readouterr().out
    assert redis_client.get(Keys(key_prefix).layout()) == LAYOUT
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:email:*")) == []
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:locator")) == []
    assert keyspace_mentions(redis_client, "5" * 32) == []  # no hex email hash is left
    assert views(client, moderator) == before
    assert client.get("/api/v1/moderation/blocks", headers=moderator).get_json() == blocks
    assert approved_by_email(redis_client, key_prefix) == approved
    # The block list holds for what was stored before (and below, the duplicate rule).
    refused_post = client.post(
        f"/api/v1/articles/{ARTICLE}/comments",
        json={"name": "Spam", "email": "spam@example.com", "body": "Buy"},
    )
    assert refused_post.status_code == 403
    assert_kept_after_migration(client, moderator, capsys, before, "Still  waiting")


def assert_kept_after_migration(
    client: FlaskClient,
    moderator: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    before: dict[str, Any],
    duplicate_text: str,
) -> None:
    """Check the duplicate rule holds for a comment stored before the migration (Kim's), and
    that running the migration again moves nothing and changes no view."""
    again = client.post(
        f"/api/v1/articles/{ARTICLE}/comments",
        json={"name": "Kim", "email": "kim@example.com", "body": duplicate_text},
    )
    assert again.status_code == 409
    assert main(["migrate-keys"]) == 0
    assert "Nothing to move" in capsys.readouterr().out
    assert views(client, moderator) == before
