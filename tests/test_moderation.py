"""The moderation API: authentication, the queues, decisions and their atomicity."""

from __future__ import annotations

import random
import threading

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.keys import Keys, article_bucket
from service.models import Status
from tests.conftest import MODERATOR_TOKENS, app_config
from tests.helpers import (
    decide,
    flood_marks,
    in_state_index,
    listing,
    pending_ids,
    publish,
    stored_fields,
    stored_ids,
    submit,
)

UNKNOWN_ID = "0123456789abcdef012345"
STATES = ("pending", "approved", "rejected", "spam")


def moderation_requests(comment_id: str) -> list[tuple[str, str]]:
    base = "/api/v1/moderation/comments"
    return [
        ("GET", base),
        ("GET", f"{base}?status=approved"),
        ("GET", f"{base}/{comment_id}"),
        ("POST", f"{base}/{comment_id}/approve"),
        ("POST", f"{base}/{comment_id}/reject"),
        ("POST", f"{base}/{comment_id}/spam"),
        ("DELETE", f"{base}/{comment_id}"),
    ]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token-0123456789",
        f"Basic {MODERATOR_TOKENS['alice']}",
        f"Bearer {MODERATOR_TOKENS['alice']}x",
        f"Bearer {MODERATOR_TOKENS['alice'][:-1]}",
    ],
)
def test_every_moderation_route_needs_a_token(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, authorization: str | None
) -> None:
    comment = submit(client)
    before = {key: redis_client.dump(key) for key in redis_client.scan_iter(f"{key_prefix}:*")}
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, url in moderation_requests(comment["id"]):
        response = client.open(url, method=method, headers=headers)
        assert response.status_code == 401, (method, url)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["code"] == 401
    after = {key: redis_client.dump(key) for key in redis_client.scan_iter(f"{key_prefix}:*")}
    # Nothing changes but the count of wrong tokens presented, which slows guessing.
    failures = {key for key in after if ":sign-in-failures:" in key}
    assert {key: value for key, value in after.items() if key not in failures} == before
    presented = bool(authorization and authorization.startswith("Bearer ") and authorization[7:])
    assert bool(failures) == presented


def test_moderation_routes_never_send_cors_headers(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, moderator: dict[str, str]
) -> None:
    app = create_app(app_config(redis_url, key_prefix, cors_origins="https://news.example"))
    client = app.test_client()
    origin = {"Origin": "https://news.example"}
    public = client.get("/api/v1/articles/a/comments", headers=origin)
    assert public.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert "Origin" in public.headers["Vary"]
    other = client.get("/api/v1/articles/a/comments", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    for headers in (origin, {**origin, **moderator}):
        response = client.get("/api/v1/moderation/comments", headers=headers)
        assert not any(name.startswith("Access-Control") for name in response.headers.keys())
    preflight = client.options(
        "/api/v1/moderation/comments",
        headers={**origin, "Access-Control-Request-Method": "GET"},
    )
    assert not any(name.startswith("Access-Control") for name in preflight.headers.keys())


def test_queue_lists_pending_oldest_first_with_private_data(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    comments = [submit(client, body=f"n{n}", email=f"q{n}@example.com") for n in range(3)]
    response = client.get("/api/v1/moderation/comments", headers=moderator)
    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["comments"]] == [c["id"] for c in comments]
    assert body["next_cursor"] is None
    first = body["comments"][0]
    assert first["status"] == "pending"
    assert first["email"] == "q0@example.com"
    assert first["ip"] == "127.0.0.1"
    assert "user_agent" in first
    assert first["decided_by"] is None and first["reason"] is None


def test_queue_cursor_pages_without_gaps_while_others_decide(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    comments = [submit(client) for _ in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get(
            "/api/v1/moderation/comments", headers=moderator, query_string=query
        ).get_json()
        seen += [item["id"] for item in body["comments"]]
        if not seen or seen[-1] == comments[2]["id"]:
            # Someone else approves a comment already shown: the next page is unaffected.
            decide(client, moderator, comments[1]["id"], "approve")
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in comments]


def test_queue_filters_by_status_and_article(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    in_a = submit(client, "a")
    in_b = submit(client, "b")
    approved = publish(client, moderator, "a")
    spam = submit(client, "b")
    decide(client, moderator, spam["id"], "spam")

    def listed(**query: str) -> list[str]:
        response = client.get("/api/v1/moderation/comments", headers=moderator, query_string=query)
        assert response.status_code == 200
        return [item["id"] for item in response.get_json()["comments"]]

    assert listed() == [in_a["id"], in_b["id"]]
    assert listed(article_id="a") == [in_a["id"]]
    assert listed(status="approved") == [approved["id"]]
    assert listed(status="spam", article_id="b") == [spam["id"]]
    assert listed(status="rejected") == []
    bad = client.get("/api/v1/moderation/comments?status=deleted-ish", headers=moderator)
    assert bad.status_code == 422


def test_decisions_record_who_why_and_repeat_as_noop(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = submit(client)
    rejected = decide(client, moderator, comment["id"], "reject", reason="Off topic")
    assert rejected["status"] == "rejected"
    assert rejected["reason"] == "Off topic"
    assert rejected["decided_by"] == "alice"
    assert rejected["decided_at"].endswith("Z")

    bob = {"Authorization": f"Bearer {MODERATOR_TOKENS['bob']}"}
    again = decide(client, bob, comment["id"], "reject", reason="Other words")
    # Repeating the same decision changes nothing, not even who made it.
    assert again == rejected
    approved = decide(client, bob, comment["id"], "approve")
    assert approved["decided_by"] == "bob" and approved["reason"] is None
    stored = stored_fields(redis_client, key_prefix, "article-1", comment["id"])
    assert stored["status"] == "approved" and stored["decided_by"] == "bob"
    assert listing(client)["count"] == 1


@pytest.mark.parametrize("action", ["approve", "reject", "spam"])
def test_unknown_comment_is_404(
    client: FlaskClient, moderator: dict[str, str], action: str
) -> None:
    base = f"/api/v1/moderation/comments/{UNKNOWN_ID}"
    assert client.post(f"{base}/{action}", headers=moderator).status_code == 404
    assert client.get(base, headers=moderator).status_code == 404
    assert client.delete(base, headers=moderator).status_code == 404
    assert client.get("/api/v1/moderation/comments/not-an-id", headers=moderator).status_code == 404


def test_reason_must_be_a_short_string(client: FlaskClient, moderator: dict[str, str]) -> None:
    comment = submit(client)
    url = f"/api/v1/moderation/comments/{comment['id']}/reject"
    assert client.post(url, headers=moderator, json={"reason": "x" * 501}).status_code == 422
    assert client.post(url, headers=moderator, json={"why": "x"}).status_code == 422
    assert (
        client.get(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator).get_json()[
            "status"
        ]
        == "pending"
    )


def assert_indexes_consistent(redis_client: redis.Redis, prefix: str, article_id: str) -> None:
    """Each comment is in exactly its state's indexes; counts and roots agree with states."""
    keys = Keys(prefix)
    approved_per_root: dict[str, int] = {}
    for comment_id in stored_ids(redis_client, prefix):
        record = stored_fields(redis_client, prefix, article_id, comment_id)
        state = record["status"]
        for candidate in map(Status, STATES):
            listed = in_state_index(redis_client, prefix, candidate, comment_id)
            assert listed == (candidate == state), (comment_id, state, "site-wide", candidate)
            index = keys.article_status(article_id, candidate)
            listed = redis_client.zscore(index, comment_id) is not None
            assert listed == (candidate == state), (comment_id, state, index)
        if state == "approved":
            approved_per_root[record["root_id"]] = approved_per_root.get(record["root_id"], 0) + 1
    live = {root: int(n) for root, n in redis_client.hgetall(keys.live(article_id)).items()}
    assert live == approved_per_root
    roots = set(redis_client.zrange(keys.roots(article_id), 0, -1))
    assert roots == set(approved_per_root)
    counted = redis_client.hget(keys.published_counts(article_bucket(article_id)), article_id)
    assert int(counted or 0) == sum(approved_per_root.values())


def test_concurrent_decisions_leave_one_state_and_one_index(
    app: Flask, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    setup = app.test_client()
    roots = [publish(setup, moderator, body=f"root {n}") for n in range(4)]
    comments = roots + [
        submit(setup, parent_id=roots[n % 4]["id"], body=f"reply {n}") for n in range(8)
    ]
    errors: list[str] = []

    def moderate(seed: int) -> None:
        client = app.test_client()
        chooser = random.Random(seed)
        for _ in range(40):
            comment = chooser.choice(comments)
            action = chooser.choice(["approve", "reject", "spam", "approve"])
            response = client.post(
                f"/api/v1/moderation/comments/{comment['id']}/{action}", headers=moderator
            )
            if response.status_code != 200:
                errors.append(f"{action} {response.status_code}")

    workers = [threading.Thread(target=moderate, args=(seed,)) for seed in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert_indexes_consistent(redis_client, key_prefix, "article-1")
    approved = int(
        redis_client.zcard(Keys(key_prefix).article_status("article-1", Status.APPROVED))
    )
    assert listing(setup)["count"] == approved


def test_retried_submission_is_stored_once(
    app: Flask, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A submit script re-sent after a lost reply must not create a second comment."""
    from service.comments import Submission

    services = app.extensions["news_comments"]
    submission = Submission("Ann", "ann@example.com", None, "Once", None, "127.0.0.1", "test")
    answer = services.comments.submit("article-1", submission)
    comment_id = answer["comment"]["id"]
    fields = services.store.comment_fields("article-1", comment_id)
    from service.models import Comment
    from service.store import Locator

    comment = Comment.from_fields(fields)
    [locator] = services.store.locate_many([comment_id])
    assert isinstance(locator, Locator)
    # The script alone is re-sent (the flood marks were claimed before it, once).
    again = services.store.add(comment, b"sealed", locator, flood=None)
    assert again.verdict == "exists"
    assert pending_ids(redis_client, key_prefix) == [comment_id]
    assert redis_client.zcard(Keys(key_prefix).article_status("article-1", Status.PENDING)) == 1
    assert len(stored_ids(redis_client, key_prefix)) == 1
    assert flood_marks(redis_client, key_prefix) == []
