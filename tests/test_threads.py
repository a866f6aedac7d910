"""The public list: threading, depth, pagination, sort, ETags, counts and deletion placeholders."""

from __future__ import annotations

import hashlib
from typing import Any

import redis
from flask.testing import FlaskClient

from service import records
from service.keys import Keys, article_bucket
from service.schemas import CommentListSchema
from tests.helpers import decide, keyspace_mentions, listing, publish, stored_members, submit


def ids(comments: list[dict[str, Any]]) -> list[str]:
    return [comment["id"] for comment in comments]


def test_empty_article(client: FlaskClient) -> None:
    page = listing(client, "never-commented")
    assert page == {
        "article_id": "never-commented",
        "count": 0,
        "page": 1,
        "per_page": 50,
        "pages": 0,
        "comments": [],
    }


def test_public_fields_only(client: FlaskClient, moderator: dict[str, str]) -> None:
    publish(client, moderator, website="https://reader.example", email="who@example.com")
    [comment] = listing(client)["comments"]
    assert set(comment) == {
        "id",
        "article_id",
        "parent_id",
        "name",
        "website",
        "body",
        "body_html",
        "created_at",
        "avatar",
        "replies",
    }
    assert comment["created_at"].endswith("Z")
    assert len(comment["avatar"]) == 16
    assert comment["website"] == "https://reader.example"


def test_avatar_is_keyed_per_email(client: FlaskClient, moderator: dict[str, str]) -> None:
    first = publish(client, moderator, email="same@example.com")
    second = publish(client, moderator, email="SAME@example.com")
    third = publish(client, moderator, email="other@example.com")
    assert first["avatar"] == second["avatar"] != third["avatar"]
    assert first["avatar"] not in hashlib.md5(b"same@example.com").hexdigest()
    assert first["avatar"] not in hashlib.sha256(b"same@example.com").hexdigest()


def test_replies_nest_and_count(client: FlaskClient, moderator: dict[str, str]) -> None:
    root = publish(client, moderator, body="root")
    child = publish(client, moderator, parent_id=root["id"], body="child")
    grandchild = publish(client, moderator, parent_id=child["id"], body="grandchild")
    sibling = publish(client, moderator, parent_id=root["id"], body="sibling")
    pending = submit(client, parent_id=root["id"], body="still pending")

    page = listing(client)
    assert page["count"] == 4
    assert page["pages"] == 1
    [top] = page["comments"]
    assert top["id"] == root["id"]
    assert ids(top["replies"]) == [child["id"], sibling["id"]]
    assert ids(top["replies"][0]["replies"]) == [grandchild["id"]]
    assert top["replies"][0]["replies"][0]["parent_id"] == child["id"]
    assert pending["id"] not in str(page)


def test_list_matches_its_documented_schema(client: FlaskClient, moderator: dict[str, str]) -> None:
    root = publish(client, moderator)
    removed = publish(client, moderator, parent_id=root["id"])
    publish(client, moderator, parent_id=removed["id"])
    decide(client, moderator, removed["id"], "reject")
    page = listing(client)
    assert CommentListSchema().validate(page) == {}
    assert page["comments"][0]["replies"][0]["removed"] is True


def test_depth_is_capped_at_five(client: FlaskClient, moderator: dict[str, str]) -> None:
    chain = [publish(client, moderator, body="depth 1")]
    for depth in range(2, 9):
        chain.append(publish(client, moderator, parent_id=chain[-1]["id"], body=f"depth {depth}"))

    node = listing(client)["comments"][0]
    for expected in chain[1:5]:
        [node] = node["replies"]
        assert node["id"] == expected["id"]
    # The depth-5 comment lists every deeper reply flat, oldest first.
    assert node["id"] == chain[4]["id"]
    assert ids(node["replies"]) == ids(chain[5:])
    assert all(reply["replies"] == [] for reply in node["replies"])
    # Each keeps its true parent.
    assert [reply["parent_id"] for reply in node["replies"]] == ids(chain[4:7])


def test_pagination_counts_top_level_comments(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    roots = [publish(client, moderator, body=f"root {n}") for n in range(5)]
    publish(client, moderator, parent_id=roots[0]["id"])
    first = listing(client, per_page=2)
    assert first["count"] == 6
    assert first["pages"] == 3
    assert ids(first["comments"]) == ids(roots[:2])
    assert ids(listing(client, per_page=2, page=3)["comments"]) == ids(roots[4:])
    assert listing(client, per_page=2, page=4)["comments"] == []
    newest = listing(client, per_page=2, sort="newest")
    assert ids(newest["comments"]) == ids(roots[::-1][:2])


def test_etag_and_304(client: FlaskClient, moderator: dict[str, str]) -> None:
    publish(client, moderator)
    url = "/api/v1/articles/article-1/comments"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    # Another page or a new comment changes the ETag.
    assert client.get(url + "?per_page=10").headers["ETag"] != etag
    publish(client, moderator)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_counts(client: FlaskClient, moderator: dict[str, str]) -> None:
    publish(client, moderator, "a")
    publish(client, moderator, "a")
    publish(client, moderator, "b")
    submit(client, "c")
    doomed = publish(client, moderator, "d")
    rejected = publish(client, moderator, "d")
    decide(client, moderator, rejected["id"], "reject")
    query = "article_id=a&article_id=b&article_id=c&article_id=d&article_id=a"
    response = client.get(f"/api/v1/counts?{query}")
    assert response.get_json() == {"counts": {"a": 2, "b": 1, "c": 0, "d": 1}}
    client.delete(f"/api/v1/moderation/comments/{doomed['id']}", headers=moderator)
    response = client.get(f"/api/v1/counts?{query}")
    assert response.get_json() == {"counts": {"a": 2, "b": 1, "c": 0, "d": 0}}


def test_deleted_parent_leaves_a_placeholder(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    root = publish(client, moderator, body="to be deleted", email="gone@example.com")
    child = publish(client, moderator, parent_id=root["id"], body="stays")
    response = client.delete(f"/api/v1/moderation/comments/{root['id']}", headers=moderator)
    assert response.status_code == 204

    page = listing(client)
    assert page["count"] == 1
    [placeholder] = page["comments"]
    assert placeholder["id"] == root["id"]
    assert placeholder["removed"] is True
    assert placeholder["name"] is None and placeholder["body"] is None
    assert placeholder["avatar"] is None
    assert ids(placeholder["replies"]) == [child["id"]]

    # Its private data is gone, and moderators no longer find it.
    stored = stored_members(redis_client, key_prefix, "article-1", root["id"])
    assert stored["s"] == "deleted"
    assert not {"n", "b", "v", "w", records.SEALED, records.EMAIL_HASH} & set(stored)
    missing = client.get(f"/api/v1/moderation/comments/{root['id']}", headers=moderator)
    assert missing.status_code == 404
    again = client.delete(f"/api/v1/moderation/comments/{root['id']}", headers=moderator)
    assert again.status_code == 404

    # Once its last reply is rejected, the placeholder is not shown either.
    decide(client, moderator, child["id"], "reject")
    assert listing(client)["comments"] == []


def test_delete_without_replies_leaves_no_trace(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = publish(client, moderator)
    url = f"/api/v1/moderation/comments/{comment['id']}"
    assert client.delete(url, headers=moderator).status_code == 204
    assert listing(client)["count"] == 0
    # Only the audit log remembers that it was deleted, and by whom. (Its network's set of
    # pending comments drops the id when next checked, and expires: README, "Redis layout";
    # the spam filter keeps what it learned from the approval, by design: hashed slots only.)
    keys = Keys(key_prefix)
    audit = keys.audit(article_bucket("article-1"))
    mentions = keyspace_mentions(redis_client, comment["id"])
    learned = {keys.spam_filter_records(), keys.spam_filter_record_order()}
    assert [key for key in mentions if ":pending-from:" not in key and key not in learned] == [
        audit
    ]


def test_rejecting_a_reply_parent_keeps_the_thread(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    root = publish(client, moderator)
    middle = publish(client, moderator, parent_id=root["id"])
    leaf = publish(client, moderator, parent_id=middle["id"])
    decide(client, moderator, middle["id"], "spam")
    [top] = listing(client)["comments"]
    [placeholder] = top["replies"]
    assert placeholder["id"] == middle["id"] and placeholder["removed"] is True
    assert placeholder["body"] is None
    assert ids(placeholder["replies"]) == [leaf["id"]]
    assert listing(client)["count"] == 2


def test_published_comment_address(client: FlaskClient, moderator: dict[str, str]) -> None:
    comment = publish(client, moderator, body="look me up")
    response = client.get(f"/api/v1/articles/article-1/comments/{comment['id']}")
    assert response.status_code == 200
    assert response.get_json()["body"] == "look me up"
    assert client.get(f"/api/v1/articles/article-2/comments/{comment['id']}").status_code == 404
