"""Idempotency-Key: a retried submission gets the first answer, and never a second comment."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service import create_app
from tests.conftest import MODERATOR_TOKENS, app_config
from tests.helpers import decide, keyspace_mentions, pending_ids, reply, stored_ids

ARTICLE = "article-1"
URL = f"/api/v1/articles/{ARTICLE}/comments"
MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}
DUPLICATE = "Duplicate comment detected; it looks as though you\u2019ve already said that!"
CLOSED = "Comments are closed for this article."
FLOOD = "You are posting comments too quickly. Slow down."
QUEUE_FULL = "The moderation queue is full. Please try again later."
OTHER_SUBMISSION = "This Idempotency-Key was used for a different submission."

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(redis_url: str, key_prefix: str, redis_client: redis.Redis) -> AppFactory:
    """Build apps with some settings, all on this test's key prefix."""

    def build(**overrides: Any) -> Flask:
        return create_app(app_config(redis_url, key_prefix, **overrides))

    return build


def post(
    client: FlaskClient, payload: dict[str, Any], key: str | None, article_id: str = ARTICLE
) -> TestResponse:
    """Submit a reply, with an Idempotency-Key when one is given."""
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"/api/v1/articles/{article_id}/comments", json=payload, headers=headers)


Answer = tuple[int, bytes, str | None, str | None, str | None]


def answer(response: TestResponse) -> Answer:
    """What a retry must repeat exactly: status, body, Location, Retry-After, Content-Type."""
    return (
        response.status_code,
        response.get_data(),
        response.headers.get("Location"),
        response.headers.get("Retry-After"),
        response.headers.get("Content-Type"),
    )


def idempotency_keys(redis_client: redis.Redis, key_prefix: str) -> list[str]:
    """Name the kept answers under the test's prefix."""
    return list(redis_client.scan_iter(match=f"{key_prefix}:idempotency:*"))


def test_a_retry_gets_the_first_answer_and_stores_one_comment(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Same key, same body: identical status, body and Location; one comment stored."""
    client = make_app().test_client()
    payload = reply(body="Retried over a flaky link")
    first = post(client, payload, "retry-key-1")
    assert first.status_code == 202
    comment_id = first.get_json()["comment"]["id"]
    assert first.headers["Location"].endswith(f"/comments/{comment_id}")
    for _ in range(2):
        assert answer(post(client, payload, "retry-key-1")) == answer(first)
    assert pending_ids(redis_client, key_prefix) == [comment_id]
    assert len(stored_ids(redis_client, key_prefix)) == 1
    moderation = client.get("/api/v1/moderation/comments", headers=MODERATOR).get_json()
    assert [item["id"] for item in moderation["comments"]] == [comment_id]
    # Another key is another submission (here a duplicate of the first).
    assert post(client, payload, "retry-key-2").status_code == 409


@pytest.mark.parametrize(
    "settings", [{"flood_interval": 15}, {"rate_limits": "1/minute"}, {"max_pending": 1}]
)
def test_a_replay_is_answered_before_the_rules(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str, settings: dict[str, Any]
) -> None:
    """Retries of an accepted comment replay its 202, not a flood, rate or queue refusal."""
    client = make_app(**settings).test_client()
    payload = reply()
    first = post(client, payload, "replay-key")
    assert first.status_code == 202
    for _ in range(3):
        assert answer(post(client, payload, "replay-key")) == answer(first)
    assert post(client, reply(), None).status_code in (429, 503)
    assert len(pending_ids(redis_client, key_prefix)) == 1


def test_the_key_is_kept_hashed_for_a_day(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """The client's key text never appears in Redis; the answer expires after 24 hours."""
    client = make_app().test_client()
    key = "client-chosen-key-7f3a9c"
    assert post(client, reply(), key).status_code == 202
    assert keyspace_mentions(redis_client, key) == []
    [kept] = idempotency_keys(redis_client, key_prefix)
    assert 23 * 3600 < redis_client.ttl(kept) <= 24 * 3600


@pytest.mark.parametrize(
    "change",
    [
        {"body": "Something else entirely"},
        {"name": "Someone Else"},
        {"subject": "filled"},
    ],
)
def test_the_same_key_with_another_submission_is_422(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str, change: dict[str, str]
) -> None:
    """A key names one submission; reusing it for another is refused and stores nothing."""
    client = make_app().test_client()
    payload = reply()
    assert post(client, payload, "one-key").status_code == 202
    response = post(client, {**payload, **change}, "one-key")
    assert response.status_code == 422
    assert response.get_json()["message"] == OTHER_SUBMISSION
    assert len(stored_ids(redis_client, key_prefix)) == 1


def test_the_same_key_on_another_article_is_422(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """The article is part of the submission the key names."""
    client = make_app().test_client()
    payload = reply()
    assert post(client, payload, "one-key").status_code == 202
    response = post(client, payload, "one-key", article_id="article-2")
    assert response.status_code == 422
    assert response.get_json()["message"] == OTHER_SUBMISSION
    assert len(stored_ids(redis_client, key_prefix)) == 1


@pytest.mark.parametrize(("length", "code"), [(1, 202), (255, 202), (256, 400), (1000, 400)])
def test_key_length(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str, length: int, code: int
) -> None:
    """Keys of 1 to 255 characters are honoured; longer ones are 400 and store nothing."""
    client = make_app().test_client()
    response = post(client, reply(), "k" * length)
    assert response.status_code == code, response.get_json()
    assert len(stored_ids(redis_client, key_prefix)) == (1 if code == 202 else 0)
    if code == 400:
        assert response.get_json()["code"] == 400
        assert "255" in response.get_json()["message"]
        assert idempotency_keys(redis_client, key_prefix) == []


def test_concurrent_retries_store_one_comment_and_get_one_answer(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Eight clients sending the same key and body at once: one comment, eight equal 202s."""
    app = make_app()
    payload = reply(body="Sent eight times at once")
    barrier = threading.Barrier(8)
    answers: list[Answer] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            result = answer(post(client, payload, "concurrent-key"))
        except BaseException as error:  # reported below, in the test's thread
            with lock:
                failures.append(error)
            return
        with lock:
            answers.append(result)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert len(answers) == 8
    assert {status for status, *_ in answers} == {202}
    assert len(set(answers)) == 1
    assert len(pending_ids(redis_client, key_prefix)) == 1
    assert len(stored_ids(redis_client, key_prefix)) == 1


def test_a_refused_duplicate_frees_the_key(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A 409 is not kept: once the original is deleted, the retry with the key is accepted."""
    client = make_app().test_client()
    payload = reply(body="Said twice")
    original = post(client, payload, None).get_json()["comment"]
    refused = post(client, payload, "dup-key")
    assert refused.status_code == 409
    assert refused.get_json()["message"] == DUPLICATE
    assert idempotency_keys(redis_client, key_prefix) == []
    assert post(client, payload, "dup-key").status_code == 409
    deleted = client.delete(f"/api/v1/moderation/comments/{original['id']}", headers=MODERATOR)
    assert deleted.status_code == 204
    retried = post(client, payload, "dup-key")
    assert retried.status_code == 202
    assert pending_ids(redis_client, key_prefix) == [retried.get_json()["comment"]["id"]]
    # From now on the key keeps this answer.
    assert answer(post(client, payload, "dup-key")) == answer(retried)
    assert len(stored_ids(redis_client, key_prefix)) == 1


def test_a_refused_closed_answer_frees_the_key(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A 403 for a closed article is not kept: after the article reopens the retry is accepted."""
    client = make_app().test_client()
    payload = reply()
    client.post(f"/api/v1/moderation/articles/{ARTICLE}/close", headers=MODERATOR)
    refused = post(client, payload, "closed-key")
    assert refused.status_code == 403
    assert refused.get_json()["message"] == CLOSED
    assert idempotency_keys(redis_client, key_prefix) == []
    client.post(f"/api/v1/moderation/articles/{ARTICLE}/reopen", headers=MODERATOR)
    retried = post(client, payload, "closed-key")
    assert retried.status_code == 202
    assert pending_ids(redis_client, key_prefix) == [retried.get_json()["comment"]["id"]]


def test_a_flood_refusal_is_not_kept_and_the_retry_after_the_wait_is_accepted(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A 429 with a key keeps nothing; once the flood mark expires the same key is accepted."""
    client = make_app(flood_interval=15).test_client()
    first = post(client, reply(), None).get_json()["comment"]
    payload = reply()
    refused = post(client, payload, "flood-key")
    assert refused.status_code == 429
    assert refused.get_json()["message"] == FLOOD
    assert 1 <= int(refused.headers["Retry-After"]) <= 15
    assert idempotency_keys(redis_client, key_prefix) == []
    # The reader waits Retry-After: the flood marks expire (here, at once).
    marks = list(redis_client.scan_iter(match=f"{key_prefix}:*flood*"))
    assert marks
    redis_client.delete(*marks)
    retried = post(client, payload, "flood-key")
    assert retried.status_code == 202, retried.get_json()
    assert pending_ids(redis_client, key_prefix) == sorted(
        [first["id"], retried.get_json()["comment"]["id"]]
    )
    assert len(idempotency_keys(redis_client, key_prefix)) == 1
    assert answer(post(client, payload, "flood-key")) == answer(retried)
    assert len(stored_ids(redis_client, key_prefix)) == 2


def test_a_rate_limit_refusal_is_not_kept(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A 429 from the rate limits keeps nothing either; the window's end lets the key in."""
    client = make_app(rate_limits="1/minute").test_client()
    assert post(client, reply(), None).status_code == 202
    payload = reply()
    refused = post(client, payload, "rate-key")
    assert refused.status_code == 429
    assert idempotency_keys(redis_client, key_prefix) == []
    windows = list(redis_client.scan_iter(match=f"{key_prefix}:*limits*"))
    assert windows
    redis_client.delete(*windows)
    assert post(client, payload, "rate-key").status_code == 202
    assert len(stored_ids(redis_client, key_prefix)) == 2


def test_a_503_frees_the_key_for_a_later_retry(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A full queue is a passing failure: the retry with the same key is handled afresh."""
    client = make_app(max_pending=1).test_client()
    waiting = post(client, reply(), None).get_json()["comment"]
    payload = reply()
    refused = post(client, payload, "queue-key")
    assert refused.status_code == 503
    assert refused.get_json()["message"] == QUEUE_FULL
    assert idempotency_keys(redis_client, key_prefix) == []
    decide(client, MODERATOR, waiting["id"], "approve")
    retried = post(client, payload, "queue-key")
    assert retried.status_code == 202
    assert pending_ids(redis_client, key_prefix) == [retried.get_json()["comment"]["id"]]


def test_an_invalid_body_does_not_claim_the_key(
    make_app: AppFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A 422 from validation keeps nothing, so the corrected submission may use the key."""
    client = make_app().test_client()
    invalid = post(client, reply(email="nope"), "fix-key")
    assert invalid.status_code == 422
    assert idempotency_keys(redis_client, key_prefix) == []
    assert post(client, reply(), "fix-key").status_code == 202
    assert len(stored_ids(redis_client, key_prefix)) == 1


def test_the_kept_answer_holds_no_email(client: FlaskClient, redis_client: redis.Redis) -> None:
    """What is kept for a key names the request by a digest, never by its email."""
    canary = f"kept{secrets.token_hex(5)}@example.com"
    response = client.post(
        "/api/v1/articles/article-1/comments",
        json={"name": "Kept", "email": canary, "body": "Once only"},
        headers={"Idempotency-Key": "kept-answer"},
    )
    assert response.status_code == 202
    assert keyspace_mentions(redis_client, canary.split("@")[0]) == []
