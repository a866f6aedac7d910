"""`news-comments migrate-keys`: a deployment's data moves from the layout before buckets
(`{article}` and `{global}` hash tags) to today's, in place, safe to interrupt and to re-run;
the service refuses to run on the old layout."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.cli import main
from service.key_migration import KeyMigration, legacy_layout_present
from service.keys import BUCKETS, Keys, LegacyKeys, PackedKeys, bucket_tags
from service.models import Status
from service.topology import Timeouts, connect
from tests.conftest import TOPOLOGY
from tests.helpers import decide, expand_indexes, listing, publish, reply, submit, unpack_records

pytestmark = pytest.mark.skipif(
    TOPOLOGY == "cluster", reason="the old layout only ever lived on one server"
)

GROUP = "webhooks"
DATA_RIGHTS = "/api/v1/moderation/privacy"


def downgrade(client: Any, prefix: str) -> None:
    """Rewrite today's keys as the layout before buckets named them, as a deployment of that
    version would hold them: article keys under `{<article id>}`, every site-wide index under
    `{global}` (the buckets' shares merged), streams merged in id order; email hashes in hex, a
    sorted set per email."""
    expand_indexes(client, prefix)
    unpack_records(client, prefix)
    keys, legacy = Keys(prefix), LegacyKeys(prefix)
    tags = set(bucket_tags())
    for raw in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
        key = raw if isinstance(raw, str) else raw.decode()
        rest = key.removeprefix(f"{prefix}:")
        if rest.startswith("{site}:") or rest.startswith("{webhooks}:"):
            client.rename(key, legacy.site_wide(rest.split("}:", 1)[1]))
        elif rest.startswith(("flood:", "idempotency:")):
            client.rename(key, legacy.site_wide(rest))
        elif rest.startswith("{") and rest[1:].split("}", 1)[0] in tags:
            inner = rest.split("}:", 1)[1]
            if inner.startswith("a:"):
                article_id, _, tail = inner[2:].partition(":")
                while not _is_article_suffix(tail):
                    more, _, tail = tail.partition(":")
                    article_id = f"{article_id}:{more}"
                client.rename(key, f"{prefix}:{{{article_id}}}:{tail}")
    for status in Status.indexed():
        _merge_sets(
            client,
            [keys.queue(b, status) for b in range(BUCKETS)],
            legacy.site_wide(f"status:{status}"),
        )
    _merge_sets(client, [keys.articles(b) for b in range(BUCKETS)], legacy.site_wide("articles"))
    for name, key_of in (
        ("published-counts", keys.published_counts),
        ("approved-by-email", keys.approved_by_email),
        ("locator", PackedKeys(keys).locator),
    ):
        for bucket in range(BUCKETS):
            values = client.hgetall(key_of(bucket))
            if values:
                if name == "approved-by-email":
                    for field, count in values.items():
                        client.hincrby(legacy.site_wide(name), field, int(count))
                else:
                    client.hset(legacy.site_wide(name), mapping=values)
            client.delete(key_of(bucket))
    for bucket in range(BUCKETS):
        for raw in list(client.scan_iter(match=f"{prefix}:{{{bucket_tags()[bucket]}}}:email:*")):
            key = raw if isinstance(raw, str) else raw.decode()
            email_hash = key.rpartition(":")[2]
            for member in client.zrange(key, 0, -1):
                client.zadd(legacy.site_wide(f"email:{email_hash}"), {member: 0})
            client.delete(key)
    for name, key_of in (("events", keys.events), ("audit", keys.audit)):
        entries = []
        for bucket in range(BUCKETS):
            entries += client.xrange(key_of(bucket))
            client.delete(key_of(bucket))
        for entry_id, fields in sorted(
            entries, key=lambda item: tuple(map(int, item[0].split("-")))
        ):
            client.xadd(legacy.site_wide(name), fields, id=entry_id)


def _is_article_suffix(tail: str) -> bool:
    head = tail.split(":", 1)[0]
    return head in {
        "comment", "private", "status", "revisions", "roots", "thread", "live", "version",
        "duplicate", "article",
    }  # fmt: skip


def _merge_sets(client: Any, sources: list[str], target: str) -> None:
    for source in sources:
        members = client.zrange(source, 0, -1, withscores=True)
        if members:
            client.zadd(target, dict(members))
        client.delete(source)


@pytest.fixture
def old_deployment(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> dict[str, Any]:
    """Comments on three articles (one of them named "global"), in every state, with an edit,
    an audit log, a webhooks consumer group and a block, stored as the old layout held them."""
    made: dict[str, Any] = {"pending": [], "approved": [], "rejected": []}
    for article_id in ("nato-dialogue", "global", "2026-12-01-budget"):
        root = publish(client, moderator, article_id, email="kim@example.com")
        made["approved"].append(root)
        made["approved"].append(
            publish(client, moderator, article_id, parent_id=root["id"], email="lee@example.com")
        )
        made["pending"].append(submit(client, article_id, email="kim@example.com"))
        rejected = submit(client, article_id)
        decide(client, moderator, rejected["id"], "reject")
        made["rejected"].append(rejected)
    edited = made["approved"][0]["id"]
    edit = client.post(
        f"/api/v1/moderation/comments/{edited}/edit", headers=moderator, json={"body": "Edited"}
    )
    assert edit.status_code == 200
    block = {"kind": "domain", "value": "spam.example"}
    assert (
        client.post("/api/v1/moderation/blocks", headers=moderator, json=block).status_code == 200
    )
    made["edited"] = edited
    downgrade(redis_client, key_prefix)
    # The webhooks worker had a consumer group on the events stream, one event not yet read.
    events = LegacyKeys(key_prefix).site_wide("events")
    event = {"type": "comment.pending", "comment_id": made["pending"][0]["id"]}
    redis_client.xadd(events, event | {"article_id": "nato-dialogue", "status": "pending"})
    redis_client.xgroup_create(events, GROUP, id="0")
    return made


def test_migrate_keys_moves_every_comment_and_view(
    old_deployment: dict[str, Any],
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    legacy = LegacyKeys(key_prefix)
    assert redis_client.exists(legacy.site_wide("locator"))
    # The service refuses to work on the old layout: a command says what to do, in one line.
    with pytest.raises(SystemExit) as refused:
        main(["purge"])
    assert "news-comments migrate-keys" in str(refused.value)

    assert main(["migrate-keys"]) == 0
    moved = capsys.readouterr().out
    assert "routed 12 comment(s)" in moved
    assert "Packed 12 comment(s)" in moved
    assert not legacy_layout_present(redis_client, key_prefix)
    assert not [key for key in redis_client.scan_iter(match=f"{key_prefix}:{{global}}:*")]

    # Every view is whole again: queues, lists, counts, stats, edits, audit, the email index.
    queue = client.get("/api/v1/moderation/comments", headers=moderator).get_json()
    assert sorted(item["id"] for item in queue["comments"]) == sorted(
        item["id"] for item in old_deployment["pending"]
    )
    for article_id in ("nato-dialogue", "global", "2026-12-01-budget"):
        page = listing(client, article_id)
        assert page["count"] == 2 and len(page["comments"]) == 1
    counts = client.get("/api/v1/counts?article_id=global&article_id=nato-dialogue").get_json()
    assert counts == {"counts": {"global": 2, "nato-dialogue": 2}}
    stats = client.get("/api/v1/moderation/stats", headers=moderator).get_json()
    assert stats["counts"] == {"pending": 3, "approved": 6, "rejected": 3, "spam": 0}
    edited = client.get(
        f"/api/v1/moderation/comments/{old_deployment['edited']}", headers=moderator
    ).get_json()
    assert [revision["by"] for revision in edited["revisions"]] == ["author", "alice"]
    audit = client.get("/api/v1/moderation/audit?limit=200", headers=moderator).get_json()
    assert {entry["action"] for entry in audit["entries"]} >= {"approve", "reject", "edit", "block"}
    exported = client.get(
        f"{DATA_RIGHTS}/export", headers=moderator, query_string={"email": "kim@example.com"}
    ).get_json()
    assert len(exported["comments"]) == 6 and exported["approved_comments"] == 3
    # The old comment ids (22 digits) still name their comments, and new comments go on.
    old_id = old_deployment["pending"][0]["id"]
    assert client.get(f"/api/v1/moderation/comments/{old_id}", headers=moderator).status_code == 200
    decide(client, moderator, old_id, "approve")
    assert listing(client, "nato-dialogue")["count"] == 3
    assert client.post("/api/v1/articles/global/comments", json=reply()).status_code == 202
    # The webhooks group goes on where it stood, on every bucket's stream: the unread event
    # is still to be read.
    unread = []
    for bucket in range(BUCKETS):
        stream = Keys(key_prefix).events(bucket)
        assert [group["name"] for group in redis_client.xinfo_groups(stream)] == [GROUP]
        unread += redis_client.xreadgroup(GROUP, "worker", {stream: ">"}) or []
    [[_, [(_, fields)]]] = unread
    assert fields["comment_id"] == old_deployment["pending"][0]["id"]

    # Running it again moves nothing and changes nothing.
    assert main(["migrate-keys"]) == 0
    assert "Nothing to move" in capsys.readouterr().out
    assert (
        client.get("/api/v1/moderation/stats", headers=moderator).get_json()["counts"]["approved"]
        == 7
    )


def test_an_interrupted_migration_finishes_on_the_next_run(
    old_deployment: dict[str, Any],
    client: FlaskClient,
    moderator: dict[str, str],
    redis_url: str,
    key_prefix: str,
    cli_env: None,
) -> None:
    # Stop half-way: article keys and some indexes moved, the old site-wide indexes still there.
    partial = KeyMigration(connect(redis_url, Timeouts()), key_prefix)
    partial._load_locator()
    partial._move_named_keys()
    partial._copy_locator()
    partial._split_state_indexes()
    assert main(["migrate-keys"]) == 0
    stats = client.get("/api/v1/moderation/stats", headers=moderator).get_json()
    assert stats["counts"] == {"pending": 3, "approved": 6, "rejected": 3, "spam": 0}
    assert listing(client, "global")["count"] == 2
    queue = client.get("/api/v1/moderation/comments", headers=moderator).get_json()
    assert len(queue["comments"]) == 3


def test_migrate_keys_on_todays_layout_changes_nothing(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish(client, moderator)
    before = sorted(redis_client.scan_iter(match=f"{key_prefix}:*"))
    assert main(["migrate-keys"]) == 0
    assert "Nothing to move" in capsys.readouterr().out
    assert sorted(redis_client.scan_iter(match=f"{key_prefix}:*")) == before
    assert json.loads(json.dumps(listing(client)))["count"] == 1
