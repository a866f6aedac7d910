"""The moderation desk: reason codes, bulk decisions, the state counts and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service.keys import Keys, article_bucket
from tests.helpers import (
    audit_entries,
    decide,
    keyspace_mentions,
    listing,
    pending_ids,
    publish,
    submit,
)

UNKNOWN_ID = "0123456789abcdef012345"


def audit(client: FlaskClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/moderation/audit", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def test_reject_with_a_reason_code_and_text(client: FlaskClient, moderator: dict[str, str]) -> None:
    comment = submit(client)
    item = decide(
        client, moderator, comment["id"], "reject", reason_code="off_topic", reason="Not about NATO"
    )
    assert (item["reason_code"], item["reason"]) == ("off_topic", "Not about NATO")
    public = client.get(f"/api/v1/articles/article-1/comments/{comment['id']}")
    assert public.status_code == 404
    url = f"/api/v1/moderation/comments/{comment['id']}/reject"
    bad = client.post(url, headers=moderator, json={"reason_code": "rude"})
    assert bad.status_code == 422 and "reason_code" in bad.get_json()["errors"]["json"]


@pytest.mark.parametrize(
    "code", ["spam", "off_topic", "abusive", "personal_attack", "advertising", "other"]
)
def test_every_reason_code_is_accepted(
    client: FlaskClient, moderator: dict[str, str], code: str
) -> None:
    comment = submit(client)
    assert (
        decide(client, moderator, comment["id"], "reject", reason_code=code)["reason_code"] == code
    )


def test_bulk_decision_gives_a_result_per_id(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    first, second = submit(client), submit(client)
    already = publish(client, moderator)
    response = client.post(
        "/api/v1/moderation/decisions",
        headers=moderator,
        json={"ids": [first["id"], second["id"], already["id"], UNKNOWN_ID], "action": "approve"},
    )
    assert response.status_code == 200
    results = {result["id"]: result for result in response.get_json()["results"]}
    assert results[first["id"]] == {
        "id": first["id"],
        "outcome": "changed",
        "previous_status": "pending",
        "status": "approved",
    }
    assert results[already["id"]]["outcome"] == "unchanged"
    assert results[UNKNOWN_ID] == {
        "id": UNKNOWN_ID,
        "outcome": "not_found",
        "previous_status": None,
        "status": None,
    }
    assert listing(client)["count"] == 3
    assert pending_ids(redis_client, key_prefix) == []


@pytest.mark.parametrize(
    "body",
    [
        {"ids": [], "action": "approve"},
        {"ids": ["x"], "action": "approve"},
        {"ids": [UNKNOWN_ID], "action": "publish"},
        {"ids": [UNKNOWN_ID] * 201, "action": "spam"},
        {"action": "reject"},
    ],
)
def test_bad_bulk_decisions_are_422(
    client: FlaskClient, moderator: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.post("/api/v1/moderation/decisions", headers=moderator, json=body)
    assert response.status_code == 422


def test_bulk_reject_records_the_reason_on_each(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    comments = [submit(client) for _ in range(3)]
    response = client.post(
        "/api/v1/moderation/decisions",
        headers=moderator,
        json={"ids": [c["id"] for c in comments], "action": "reject", "reason_code": "advertising"},
    )
    assert all(result["outcome"] == "changed" for result in response.get_json()["results"])
    for comment in comments:
        item = client.get(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator)
        assert item.get_json()["reason_code"] == "advertising"
        assert item.get_json()["decided_by"] == "alice"


def test_stats_count_states_and_the_oldest_wait(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    empty = client.get("/api/v1/moderation/stats", headers=moderator).get_json()
    assert empty == {
        "counts": {"pending": 0, "approved": 0, "rejected": 0, "spam": 0},
        "oldest_pending_at": None,
        "oldest_pending_age_seconds": None,
        "spam_filter": {
            "learned_spam": 0,
            "learned_legitimate": 0,
            "min_samples": 50,
            "scoring": False,
        },
    }
    oldest = submit(client)
    submit(client)
    publish(client, moderator)
    spam = submit(client)
    decide(client, moderator, spam["id"], "spam")
    stats = client.get("/api/v1/moderation/stats", headers=moderator).get_json()
    assert stats["counts"] == {"pending": 2, "approved": 1, "rejected": 0, "spam": 1}
    assert stats["oldest_pending_at"] == oldest["created_at"]
    assert 0 <= stats["oldest_pending_age_seconds"] < 60
    # The approval and the spam decision taught the filter one comment of each kind.
    assert stats["spam_filter"]["learned_spam"] == stats["spam_filter"]["learned_legitimate"] == 1


def test_every_action_is_audited_without_an_email(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = submit(client, email="audited@example.com")
    decide(client, moderator, comment["id"], "approve")
    decide(client, moderator, comment["id"], "approve")  # a no-op is not an action
    decide(client, moderator, comment["id"], "reject", reason_code="abusive", reason="Insults")
    decide(client, moderator, comment["id"], "spam")
    assert (
        client.delete(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator).status_code
        == 204
    )
    client.post("/api/v1/moderation/articles/article-1/close", headers=moderator)
    client.post("/api/v1/moderation/articles/article-1/reopen", headers=moderator)
    client.patch(
        "/api/v1/moderation/articles/article-1", headers=moderator, json={"moderation_mode": "off"}
    )
    client.post(
        "/api/v1/moderation/blocks",
        headers=moderator,
        json={"kind": "email", "value": "audited@example.com"},
    )
    client.post(
        "/api/v1/moderation/blocks",
        headers=moderator,
        json={"kind": "domain", "value": "spam.example"},
    )

    entries = audit(client, moderator)["entries"]
    actions = [entry["action"] for entry in reversed(entries)]
    assert actions == [
        "approve",
        "reject",
        "spam",
        "delete",
        "close",
        "reopen",
        "moderation_mode",
        "block",
        "block",
    ]
    rejected = entries[-2]
    assert (rejected["before"], rejected["after"]) == ("approved", "rejected")
    assert (rejected["reason_code"], rejected["reason"]) == ("abusive", "Insults")
    assert rejected["moderator"] == "alice" and rejected["at"].endswith("Z")
    assert rejected["comment_id"] == comment["id"] and rejected["article_id"] == "article-1"
    assert entries[0]["after"] == "domain spam.example"
    assert entries[1]["after"] == "email"
    assert keyspace_mentions(redis_client, "audited@example.com") == []
    assert "audited" not in str(entries)


def test_audit_filters_and_pages(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    bob = {"Authorization": "Bearer bob-token-0123456789ab"}
    mine = [submit(client, "a") for _ in range(3)]
    other = submit(client, "b")
    for comment in mine:
        decide(client, moderator, comment["id"], "approve")
    decide(client, bob, other["id"], "reject")

    assert [e["comment_id"] for e in audit(client, moderator, moderator="bob")["entries"]] == [
        other["id"]
    ]
    assert len(audit(client, moderator, article_id="a")["entries"]) == 3
    assert audit(client, moderator, comment_id=mine[0]["id"])["entries"][0]["action"] == "approve"
    assert audit(client, moderator, action="reject")["entries"][0]["moderator"] == "bob"

    first = audit(client, moderator, limit=2)
    assert len(first["entries"]) == 2 and first["next_cursor"]
    rest = audit(client, moderator, limit=2, cursor=first["next_cursor"])
    seen = [e["id"] for e in first["entries"] + rest["entries"]]
    assert len(seen) == len(set(seen)) == 4
    assert rest["next_cursor"] is None
    # Articles a and b keep their entries in two buckets; the pages merge them, newest first,
    # each named `<ms>-<seq>-<bucket>` as stored.
    stored = audit_entries(redis_client, key_prefix)
    assert seen == [position for position, _ in reversed(stored)]
    assert sorted(position.rsplit("-", 1)[1] for position in seen) == sorted(
        str(article_bucket(article_id)) for article_id in ("a", "a", "a", "b")
    )
    for cursor in ("nope", "1-2-3-4", "1-" + "9" * 20, "1-2-123"):
        answer = client.get(
            "/api/v1/moderation/audit", query_string={"cursor": cursor}, headers=moderator
        )
        assert answer.status_code == 422, cursor


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/api/v1/moderation/decisions"),
        ("GET", "/api/v1/moderation/stats"),
        ("GET", "/api/v1/moderation/audit"),
    ],
)
def test_desk_routes_need_a_token(client: FlaskClient, method: str, url: str) -> None:
    response = client.open(url, method=method, json={"ids": [UNKNOWN_ID], "action": "spam"})
    assert response.status_code == 401


def test_articles_list_with_counts_per_state(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    submit(client, "first-article")
    published = publish(client, moderator, "second-article")
    rejected = submit(client, "second-article")
    decide(client, moderator, rejected["id"], "reject")
    client.post("/api/v1/moderation/articles/first-article/close", headers=moderator)
    submit(client, "third:article")
    del published

    page = client.get("/api/v1/moderation/articles", headers=moderator).get_json()
    assert [a["article_id"] for a in page["articles"]] == [
        "third:article",
        "second-article",
        "first-article",
    ]
    second = page["articles"][1]
    assert second["counts"] == {"pending": 0, "approved": 1, "rejected": 1, "spam": 0}
    assert second["closed"] is False and second["first_comment_at"].endswith("Z")
    assert page["articles"][2]["closed"] is True

    first = client.get("/api/v1/moderation/articles?limit=2", headers=moderator).get_json()
    rest = client.get(
        f"/api/v1/moderation/articles?limit=2&cursor={first['next_cursor']}", headers=moderator
    ).get_json()
    names = [a["article_id"] for a in first["articles"] + rest["articles"]]
    assert names == ["third:article", "second-article", "first-article"]
    assert rest["next_cursor"] is None


def queue(client: FlaskClient, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    response = client.get("/api/v1/moderation/comments", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def ids_of(page: dict[str, Any]) -> list[str]:
    return [comment["id"] for comment in page["comments"]]


def test_queue_by_email_ip_and_text(client: FlaskClient, moderator: dict[str, str]) -> None:
    mine = submit(client, "a", email="Searched@Example.com", body="About the Geneva talks")
    also_mine = submit(client, "b", email="searched@example.com", body="Second thought")
    other = client.post(
        "/api/v1/articles/a/comments",
        json={"name": "Far", "email": "far@example.com", "body": "From far away, Geneva too"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    ).get_json()["comment"]
    approved_mine = publish(client, moderator, "a", email="searched@example.com")

    assert ids_of(queue(client, moderator, email="searched@EXAMPLE.com")) == [
        mine["id"],
        also_mine["id"],
    ]
    assert ids_of(queue(client, moderator, email="searched@example.com", status="approved")) == [
        approved_mine["id"]
    ]
    assert ids_of(queue(client, moderator, email="searched@example.com", article_id="b")) == [
        also_mine["id"]
    ]
    assert ids_of(queue(client, moderator, ip="203.0.113.9")) == [other["id"]]
    assert ids_of(queue(client, moderator, q="geneva")) == [mine["id"], other["id"]]
    assert ids_of(queue(client, moderator, q="geneva", ip="127.0.0.1")) == [mine["id"]]
    assert queue(client, moderator, email="nobody@example.com") == {
        "comments": [],
        "next_cursor": None,
    }
    bad = client.get("/api/v1/moderation/comments?ip=not-an-ip", headers=moderator)
    assert bad.status_code == 422


def test_search_pages_with_a_cursor(client: FlaskClient, moderator: dict[str, str]) -> None:
    matching = [submit(client, body=f"needle {n}") for n in range(5)]
    for n in range(3):
        submit(client, body=f"hay {n}")
    seen: list[str] = []
    cursor = None
    while True:
        page = queue(
            client, moderator, q="needle", limit=2, **({"cursor": cursor} if cursor else {})
        )
        seen += ids_of(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [comment["id"] for comment in matching]


def test_a_moderators_reply_is_published_at_once_as_staff(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis
) -> None:
    question = publish(client, moderator, body="Will the talks be broadcast?")
    url = "/api/v1/moderation/articles/article-1/comments"
    response = client.post(
        url, headers=moderator, json={"body": "Yes, live at 10:00.", "parent_id": question["id"]}
    )
    assert response.status_code == 201
    item = response.get_json()
    assert (item["status"], item["staff"], item["name"]) == ("approved", True, "alice")
    assert item["decided_by"] == "alice" and item["email"] == ""

    page = listing(client)
    assert page["count"] == 2
    [thread] = page["comments"]
    [answer] = thread["replies"]
    assert answer["staff"] is True and answer["body"] == "Yes, live at 10:00."
    assert "staff" not in thread
    html = client.get("/articles/article-1/comments").get_data(as_text=True)
    assert '<span class="comment-staff">Staff</span>' in html

    pending = submit(client)
    refused = client.post(url, headers=moderator, json={"body": "x", "parent_id": pending["id"]})
    assert refused.status_code == 422
    assert client.post(url, json={"body": "Not staff"}).status_code == 401
    assert client.post(url, headers=moderator, json={"body": "   "}).status_code == 422


def test_a_moderators_edit_keeps_every_version(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = publish(client, moderator, body="Teh talks start at 9.")
    url = f"/api/v1/moderation/comments/{comment['id']}/edit"
    edited = client.post(url, headers=moderator, json={"body": "The talks start at 9."})
    assert edited.status_code == 200
    item = edited.get_json()
    assert item["body"] == "The talks start at 9." and item["edited_by"] == "alice"
    assert [(r["body"], r["by"]) for r in item["revisions"]] == [
        ("Teh talks start at 9.", "author"),
        ("The talks start at 9.", "alice"),
    ]
    # Readers see the latest text at once (the cached page changed version).
    [shown] = listing(client)["comments"]
    assert shown["body"] == "The talks start at 9."
    assert "<p>The talks start at 9.</p>" == shown["body_html"]
    again = client.post(url, headers=moderator, json={"body": "The talks start at 9."})
    assert len(again.get_json()["revisions"]) == 2
    assert audit(client, moderator, action="edit")["entries"][0]["comment_id"] == comment["id"]
    revisions = Keys(key_prefix).revisions("article-1", comment["id"])
    assert redis_client.llen(revisions) == 2

    assert (
        client.delete(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator).status_code
        == 204
    )
    assert not redis_client.exists(revisions)
    missing = f"/api/v1/moderation/comments/{UNKNOWN_ID}/edit"
    assert client.post(missing, headers=moderator, json={"body": "x"}).status_code == 404
    assert client.post(url, json={"body": "x"}).status_code == 401


def test_staff_replies_edits_exports_and_erasures_are_audited(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis
) -> None:
    comment = publish(client, moderator, email="reader@example.com", body="Original")
    client.post(
        f"/api/v1/moderation/comments/{comment['id']}/edit",
        headers=moderator,
        json={"body": "Edited"},
    )
    client.post(
        "/api/v1/moderation/articles/article-1/comments",
        headers=moderator,
        json={"body": "From the desk"},
    )
    client.get("/api/v1/moderation/privacy/export?email=reader@example.com", headers=moderator)
    client.post(
        "/api/v1/moderation/privacy/erase", headers=moderator, json={"email": "reader@example.com"}
    )
    actions = [entry["action"] for entry in audit(client, moderator)["entries"]]
    assert actions[:4] == ["anonymize", "export", "staff_reply", "edit"]
    assert "reader@example.com" not in str(audit(client, moderator))
    assert keyspace_mentions(redis_client, "reader@example.com") == []
