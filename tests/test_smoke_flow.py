"""The whole path: submit, hold, approve, publish, reject."""

from __future__ import annotations

import redis
from flask.testing import FlaskClient

from service.models import Status
from tests.helpers import decide, listing, pending_ids, state_ids, stored_fields, submit


def test_submit_approve_reject(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = submit(client, body="First!")
    assert comment["status"] == "pending"
    assert listing(client)["count"] == 0

    queue = client.get("/api/v1/moderation/comments", headers=moderator).get_json()
    assert [item["id"] for item in queue["comments"]] == [comment["id"]]

    approved = decide(client, moderator, comment["id"], "approve")
    assert approved["status"] == "approved"
    assert approved["decided_by"] == "alice"
    page = listing(client)
    assert page["count"] == 1
    assert [c["id"] for c in page["comments"]] == [comment["id"]]
    assert pending_ids(redis_client, key_prefix) == []
    assert state_ids(redis_client, key_prefix, Status.APPROVED) == [comment["id"]]
    stored = stored_fields(redis_client, key_prefix, "article-1", comment["id"])
    assert stored["status"] == "approved"

    decide(client, moderator, comment["id"], "reject", reason="off topic")
    assert listing(client)["count"] == 0
    assert client.get("/api/v1/counts?article_id=article-1").get_json() == {
        "counts": {"article-1": 0}
    }
