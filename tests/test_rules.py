"""The submission rules through the HTTP API: flood, rate limits, duplicates, content, modes.

Every test builds an app with the rule it tests turned on (the shared `app` fixture turns the
flood and rate limits off) and checks both the answer and what Redis holds afterwards.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from port_for import get_port
from werkzeug.test import TestResponse

from service import EXTENSION, create_app
from service.keys import Keys
from tests.conftest import (
    MODERATOR_TOKENS,
    ClientFactory,
    app_config,
    start_gunicorn,
    stop_gunicorn,
    wait_until_answers,
)
from tests.helpers import (
    approved_by_email,
    decide,
    flood_marks,
    listing,
    pending_ids,
    reply,
    stored_fields,
    stored_ids,
)

ARTICLE = "article-1"
FLOOD = "You are posting comments too quickly. Slow down."
RATE = "You have posted too many comments. Please wait before posting again."
DUPLICATE = "Duplicate comment detected; it looks as though you\u2019ve already said that!"
CLOSED = "Comments are closed for this article."
BLOCKED = "You cannot comment on this site."
QUEUE_FULL = "The moderation queue is full. Please try again later."
AWAITING = "Your comment is awaiting moderation."
PUBLISHED = "Your comment is published."
MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}


def post(
    client: FlaskClient,
    payload: dict[str, Any],
    article_id: str = ARTICLE,
    headers: dict[str, str] | None = None,
    peer: str | None = None,
) -> TestResponse:
    """Submit a reply as JSON, optionally from another socket peer."""
    environ = {"REMOTE_ADDR": peer} if peer else {}
    return client.post(
        f"/api/v1/articles/{article_id}/comments",
        json=payload,
        headers=headers or {},
        environ_base=environ,
    )


def xff(address: str) -> dict[str, str]:
    """Headers of a request forwarded by a proxy on behalf of `address`."""
    return {"X-Forwarded-For": address}


def assert_refused(response: TestResponse, code: int, message: str) -> None:
    """Check a refusal's status and the one error shape with its message."""
    body = response.get_json()
    assert response.status_code == code, body
    assert body["code"] == code
    assert body["message"] == message


def retry_after(response: TestResponse) -> int:
    """Read a whole number of seconds from Retry-After."""
    return int(response.headers["Retry-After"])


def queue(client: FlaskClient, status: str = "pending") -> list[dict[str, Any]]:
    """List the moderation queue of one state."""
    response = client.get(f"/api/v1/moderation/comments?status={status}", headers=MODERATOR)
    assert response.status_code == 200, response.get_json()
    comments: list[dict[str, Any]] = response.get_json()["comments"]
    return comments


def item(client: FlaskClient, comment_id: str) -> dict[str, Any]:
    """Read one comment as moderators see it."""
    response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
    assert response.status_code == 200, response.get_json()
    found: dict[str, Any] = response.get_json()
    return found


def accepted(response: TestResponse, code: int = 202) -> dict[str, Any]:
    """Check a submission was accepted with `code`; give the comment of the answer."""
    body = response.get_json()
    assert response.status_code == code, body
    assert body["message"] == (PUBLISHED if code == 201 else AWAITING)
    comment: dict[str, Any] = body["comment"]
    assert comment["status"] == ("approved" if code == 201 else "pending")
    return comment


def post_together(app: Flask, payloads: list[dict[str, Any]]) -> list[TestResponse]:
    """Submit several replies at the same moment, each from a client of its own."""
    barrier = threading.Barrier(len(payloads))
    responses: list[TestResponse] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def send(payload: dict[str, Any]) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            response = post(client, payload)
        except BaseException as error:  # reported below, in the test's thread
            with lock:
                failures.append(error)
            return
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert len(responses) == len(payloads)
    return responses


# --- 3. flood -----------------------------------------------------------------------------


def test_flood_refuses_a_second_comment_from_the_same_ip(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A second comment from one address within the interval is 429 with Retry-After."""
    client = make_client(flood_interval=15)
    first = accepted(post(client, reply()))
    response = post(client, reply())
    assert_refused(response, 429, FLOOD)
    assert 1 <= retry_after(response) <= 15
    assert pending_ids(redis_client, key_prefix) == [first["id"]]
    marks = flood_marks(redis_client, key_prefix, "ip")
    assert len(marks) == 1
    assert redis_client.get(marks[0]) == first["id"]
    assert 0 < redis_client.pttl(marks[0]) <= 15_000
    # Another reader from another address is not held back by it.
    accepted(post(client, reply(), peer="192.0.2.44"))


def test_flood_refuses_a_second_comment_from_the_same_email_at_another_ip(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """The email has a flood clock of its own, whatever address it comes from."""
    client = make_client(flood_interval=15, trusted_proxies="127.0.0.1/32")
    accepted(post(client, reply(email="fast@example.com"), headers=xff("198.51.100.1")))
    response = post(client, reply(email="fast@example.com"), headers=xff("198.51.100.2"))
    assert_refused(response, 429, FLOOD)
    assert 1 <= retry_after(response) <= 15
    accepted(post(client, reply(email="slow@example.com"), headers=xff("198.51.100.3")))
    assert len(pending_ids(redis_client, key_prefix)) == 2


@pytest.mark.parametrize("failure", ["invalid", "closed"])
def test_a_refused_or_failed_submission_does_not_start_the_flood_clock(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, failure: str
) -> None:
    """A 422 or a 403 stores nothing, so the sender's next comment is not a flood."""
    client = make_client(flood_interval=15)
    if failure == "invalid":
        response = post(client, reply(email="not-an-email"))
        assert response.status_code == 422
    else:
        closed = client.post("/api/v1/moderation/articles/closed-one/close", headers=MODERATOR)
        assert closed.status_code == 200
        assert_refused(post(client, reply(), article_id="closed-one"), 403, CLOSED)
    assert flood_marks(redis_client, key_prefix) == []
    accepted(post(client, reply()))


def test_no_flood_refusal_with_interval_zero(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """flood_interval=0 turns the rule off: no refusal and no flood marks."""
    client = make_client(flood_interval=0)
    for _ in range(3):
        accepted(post(client, reply(email="same@example.com")))
    assert len(pending_ids(redis_client, key_prefix)) == 3
    assert flood_marks(redis_client, key_prefix) == []


def test_flood_interval_both_sides_of_the_threshold(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Within the interval the next comment is refused; just past it, it is accepted."""
    client = make_client(flood_interval=1)
    accepted(post(client, reply()))
    response = post(client, reply())
    assert_refused(response, 429, FLOOD)
    assert retry_after(response) == 1
    time.sleep(1.1)
    accepted(post(client, reply()))
    assert len(pending_ids(redis_client, key_prefix)) == 2


def test_flood_holds_under_concurrent_submissions(
    redis_url: str, key_prefix: str, redis_client: redis.Redis
) -> None:
    """Eight comments from one address at once: exactly one is stored, seven are 429."""
    app = create_app(app_config(redis_url, key_prefix, flood_interval=15))
    responses = post_together(app, [reply() for _ in range(8)])
    assert sorted(response.status_code for response in responses) == [202] + [429] * 7
    for response in responses:
        if response.status_code == 429:
            assert_refused(response, 429, FLOOD)
            assert 1 <= retry_after(response) <= 15
    assert len(pending_ids(redis_client, key_prefix)) == 1


def test_a_comment_refused_after_its_flood_marks_were_claimed_gives_them_back(
    make_client: ClientFactory,
    redis_client: redis.Redis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The marks are claimed before the comment is written; when the write refuses it (here a
    duplicate stored after the rules read the facts), the marks are removed again."""
    payload = reply(email="racer@example.com", body="Said at the same moment")
    first = accepted(post(make_client(), payload))
    client = make_client(flood_interval=15)
    store = client.application.extensions[EXTENSION].store
    read_facts = store.admission_facts

    def facts_before_the_original(*args: Any, **kwargs: Any) -> Any:
        # As if read just before the original was stored: no duplicate yet.
        facts, spam_answer = read_facts(*args, **kwargs)
        return dataclasses.replace(facts, duplicate_of=None), spam_answer

    monkeypatch.setattr(store, "admission_facts", facts_before_the_original)
    assert_refused(post(client, payload, peer="192.0.2.50"), 409, DUPLICATE)
    assert flood_marks(redis_client, key_prefix) == []
    assert pending_ids(redis_client, key_prefix) == [first["id"]]
    # The network's pending list was written with the store, before its answer: the refused
    # comment's id is not counted, and the count trims it.
    network_hash = client.application.extensions[EXTENSION].comments.client_hash("192.0.2.50")
    assert store.pending_from(network_hash) == 0
    assert not redis_client.get(Keys(key_prefix).pending_from(network_hash))
    # The refused comment did not start the sender's flood clock.
    second = accepted(post(client, {**payload, "body": "Something else"}, peer="192.0.2.50"))
    assert len(flood_marks(redis_client, key_prefix)) == 2
    assert pending_ids(redis_client, key_prefix) == [first["id"], second["id"]]


# --- 4. rate limits -----------------------------------------------------------------------


def test_rate_limit_refuses_the_fourth_comment_from_one_ip(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """With 3/minute the fourth comment from one address is 429; another address is fine."""
    client = make_client(rate_limits="3/minute", flood_interval=0)
    for _ in range(3):
        accepted(post(client, reply()))
    response = post(client, reply())
    assert_refused(response, 429, RATE)
    assert 0 < retry_after(response) <= 60
    assert len(pending_ids(redis_client, key_prefix)) == 3
    accepted(post(client, reply(), peer="192.0.2.77"))
    assert len(pending_ids(redis_client, key_prefix)) == 4
    # The limiter counts in Redis under the service's prefix, by a hash of the address.
    limiter_keys = list(redis_client.scan_iter(match=f"{Keys(key_prefix).rate_limits()}*"))
    assert limiter_keys
    assert not any("127.0.0.1" in key or "192.0.2.77" in key for key in limiter_keys)


def test_rate_limit_holds_under_concurrent_submissions(
    redis_url: str, key_prefix: str, redis_client: redis.Redis
) -> None:
    """Eight comments from one address at once under 3/minute: three stored, five 429."""
    app = create_app(app_config(redis_url, key_prefix, rate_limits="3/minute"))
    responses = post_together(app, [reply() for _ in range(8)])
    assert sorted(response.status_code for response in responses) == [202] * 3 + [429] * 5
    assert len(pending_ids(redis_client, key_prefix)) == 3


@pytest.fixture
def two_servers(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[list[str]]:
    """Run two gunicorn processes sharing one Redis and one key prefix; give their base URLs."""
    servers: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for number in range(2):
            port = get_port(None)
            log = tmp_path / f"gunicorn-{number}.log"
            process = start_gunicorn(
                redis_url, key_prefix, port, log, rate_limits="3/minute", flood_interval=0
            )
            servers.append((f"http://127.0.0.1:{port}", process))
        for base, process in servers:
            wait_until_answers(base, process)
        yield [base for base, _ in servers]
    finally:
        for _, process in servers:
            stop_gunicorn(process)


def http_post(base: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST a reply to a live server; give the status, the JSON body and the headers."""
    request = urllib.request.Request(
        f"{base}/api/v1/articles/{ARTICLE}/comments",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), dict(error.headers)


def test_rate_limit_holds_across_two_processes(
    two_servers: list[str], redis_client: redis.Redis, key_prefix: str
) -> None:
    """Two gunicorn processes share the count in Redis: the 4th overall is refused."""
    first, second = two_servers
    answers = [http_post(base, reply()) for base in (first, second, first, second)]
    assert [status for status, _, _ in answers] == [202, 202, 202, 429]
    _, body, headers = answers[3]
    assert body["message"] == RATE
    assert int(headers["Retry-After"]) > 0
    assert len(pending_ids(redis_client, key_prefix)) == 3
    status, body, _ = http_post(first, reply())
    assert (status, body["message"]) == (429, RATE)


# --- 5. duplicates ------------------------------------------------------------------------


def test_duplicate_after_whitespace_and_case_normalization(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """The same text, spaced and cased differently, by the same email on the same spot: 409."""
    client = make_client()
    accepted(post(client, reply(email="dup@example.com", body="Hello   World")))
    response = post(client, reply(email="dup@example.com", body=" hello world "))
    assert_refused(response, 409, DUPLICATE)
    assert "Retry-After" not in response.headers
    assert len(stored_ids(redis_client, key_prefix)) == 1


def test_duplicate_is_only_the_same_article_parent_and_email(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Another article, another parent or another email makes it a new comment."""
    client = make_client()
    text = "Hello   World"
    parent = accepted(post(client, reply(body="A parent to reply under")))
    decide(client, MODERATOR, parent["id"], "approve")
    accepted(post(client, reply(email="dup@example.com", body=text)))
    accepted(post(client, reply(email="dup@example.com", body=text), article_id="article-2"))
    accepted(post(client, reply(email="other@example.com", body=text)))
    reply_fields = reply(email="dup@example.com", body=text, parent_id=parent["id"])
    accepted(post(client, reply_fields))
    assert_refused(post(client, reply_fields), 409, DUPLICATE)
    assert len(pending_ids(redis_client, key_prefix)) == 4


def test_a_deleted_original_frees_its_text_but_a_rejected_one_still_counts(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Deletion forgets the fingerprint; rejection keeps it."""
    client = make_client()
    payload = reply(email="dup@example.com", body="Say it once")
    original = accepted(post(client, payload))
    decide(client, MODERATOR, original["id"], "reject")
    assert_refused(post(client, payload), 409, DUPLICATE)
    deleted = client.delete(f"/api/v1/moderation/comments/{original['id']}", headers=MODERATOR)
    assert deleted.status_code == 204
    assert stored_ids(redis_client, key_prefix) == []
    again = accepted(post(client, payload))
    assert pending_ids(redis_client, key_prefix) == [again["id"]]


# --- 7. honeypot --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["all", "off"])
def test_honeypot_filled_is_answered_as_usual_but_stored_as_spam(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, mode: str
) -> None:
    """A bot that fills `subject` gets the usual 202 and never reaches a reader."""
    client = make_client(moderation_mode=mode)
    comment = accepted(post(client, reply(subject="Buy now")))
    stored = item(client, comment["id"])
    assert stored["status"] == "spam"
    assert any("honeypot" in reason for reason in stored["reasons"])
    assert pending_ids(redis_client, key_prefix) == []
    assert listing(client, ARTICLE)["count"] == 0


@pytest.mark.parametrize(("mode", "code"), [("all", 202), ("off", 201)])
def test_honeypot_left_empty_is_a_normal_comment(
    make_client: ClientFactory, mode: str, code: int
) -> None:
    """An empty `subject`, as a person leaves it, changes nothing."""
    client = make_client(moderation_mode=mode)
    comment = accepted(post(client, reply(subject="")), code)
    stored = item(client, comment["id"])
    assert stored["status"] == ("approved" if code == 201 else "pending")
    assert not any("honeypot" in reason for reason in stored["reasons"])


# --- 8. disallowed words ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"name": "Casino Fan"}, "disallowed word in name (casino)"),
        ({"name": "THE CASINO"}, "disallowed word in name (casino)"),
        ({"website": "https://casino.example.com/"}, "disallowed word in website (casino)"),
        ({"body": "Meet me at the Casino tonight."}, "disallowed word in text (casino)"),
        ({"body": "Cheap VIAGRAS here"}, "disallowed word in text (viagra*)"),
        ({"body": "viagra"}, "disallowed word in text (viagra*)"),
        ({"body": "casino-royale is a film"}, "disallowed word in text (casino)"),
    ],
)
def test_disallowed_words_store_the_comment_as_spam(
    make_client: ClientFactory, fields: dict[str, str], reason: str
) -> None:
    """A whole disallowed word anywhere, in any case: the usual 202, stored as spam."""
    client = make_client(disallowed_words="casino,viagra*", moderation_mode="off")
    comment = accepted(post(client, reply(**fields)))
    stored = item(client, comment["id"])
    assert stored["status"] == "spam"
    assert stored["reasons"] == [reason]
    assert listing(client, ARTICLE)["count"] == 0


def test_a_disallowed_word_in_the_email_never_puts_the_email_in_the_reason(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """The reason names the field, not the address."""
    client = make_client(disallowed_words="casino,viagra*", moderation_mode="off")
    email = "casino.king@example.com"
    comment = accepted(post(client, reply(email="Casino.King@example.com")))
    stored = item(client, comment["id"])
    assert stored["status"] == "spam"
    assert stored["reasons"] == ["disallowed word in the email"]
    record = stored_fields(redis_client, key_prefix, ARTICLE, comment["id"])
    assert "casino.king" not in record["reasons"].casefold()
    assert not any(email in reason.casefold() for reason in stored["reasons"])


@pytest.mark.parametrize(
    "fields",
    [
        {"body": "Casinos are everywhere now"},
        {"body": "xviagra is not a word"},
        {"name": "Casinoroyale"},
        {"website": "https://casinos.example.com/"},
        {"email": "casinos@example.com"},
    ],
)
def test_disallowed_words_match_whole_words_only(
    make_client: ClientFactory, fields: dict[str, str]
) -> None:
    """A word that merely contains a disallowed one is fine ("casinos" is not "casino")."""
    client = make_client(disallowed_words="casino,viagra*", moderation_mode="off")
    comment = accepted(post(client, reply(**fields)), 201)
    assert item(client, comment["id"])["status"] == "approved"


# --- 9. held for review -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "reasons"),
    [
        ("I want a REFUND now", 202, ["moderation word (refund)"]),
        ("Refund, please.", 202, ["moderation word (refund)"]),
        ("Refunds are slow", 201, ["moderation off"]),
        ("Nothing to see", 201, ["moderation off"]),
    ],
)
def test_moderation_words_hold_a_comment_with_the_reason(
    make_client: ClientFactory, body: str, code: int, reasons: list[str]
) -> None:
    """A moderation word holds even when moderation is off; the reason names the word."""
    client = make_client(moderation_words="refund", moderation_mode="off")
    comment = accepted(post(client, reply(body=body)), code)
    stored = item(client, comment["id"])
    assert stored["status"] == ("pending" if code == 202 else "approved")
    assert stored["reasons"] == reasons


TWO_LINKS = "See http://a.example/x and https://b.example/y"
THREE_LINKS = f"{TWO_LINKS} and http://c.example/"


@pytest.mark.parametrize(
    ("max_links", "body", "code", "reasons"),
    [
        (2, TWO_LINKS, 202, ["2 links (holding at 2)"]),
        (2, THREE_LINKS, 202, ["3 links (holding at 2)"]),
        (2, "Only https://a.example/ here", 201, ["moderation off"]),
        (2, "No links at all", 201, ["moderation off"]),
        (0, THREE_LINKS, 201, ["moderation off"]),
    ],
)
def test_links_hold_a_comment_at_max_links(
    make_client: ClientFactory, max_links: int, body: str, code: int, reasons: list[str]
) -> None:
    """`max_links` links or more hold the comment; 0 turns the rule off."""
    client = make_client(max_links=max_links, moderation_mode="off")
    comment = accepted(post(client, reply(body=body)), code)
    stored = item(client, comment["id"])
    assert stored["status"] == ("pending" if code == 202 else "approved")
    assert stored["reasons"] == reasons


# --- 10. trusted commenters ---------------------------------------------------------------


def test_trusted_commenter_is_published_at_once(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """After one approved comment, the same email (domain in any case) publishes at once."""
    client = make_client(moderation_mode="trusted", trusted_after_approved=1)
    first = accepted(post(client, reply(email="trusty@example.com")))
    assert item(client, first["id"])["status"] == "pending"
    decide(client, MODERATOR, first["id"], "approve")
    counts = approved_by_email(redis_client, key_prefix)
    assert list(counts.values()) == [1]
    assert not any("trusty" in name for name in counts)

    second = accepted(post(client, reply(email="trusty@EXAMPLE.Com", body="Again")), 201)
    stored = item(client, second["id"])
    assert stored["status"] == "approved"
    assert stored["reasons"] == ["trusted commenter (1 approved before)"]
    page = listing(client, ARTICLE)
    assert [comment["id"] for comment in page["comments"]] == [first["id"], second["id"]]
    assert approved_by_email(redis_client, key_prefix) == {name: 2 for name in counts}
    # Someone else still waits.
    accepted(post(client, reply(email="stranger@example.com")))


def test_trust_needs_the_trusted_mode(make_client: ClientFactory) -> None:
    """In the default mode `all`, an approved commenter still waits."""
    client = make_client(trusted_after_approved=1)
    first = accepted(post(client, reply(email="trusty@example.com")))
    decide(client, MODERATOR, first["id"], "approve")
    second = accepted(post(client, reply(email="trusty@example.com")))
    assert item(client, second["id"])["status"] == "pending"


# --- 11. moderation mode ------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "code"), [("all", 202), ("off", 201)])
def test_site_moderation_mode(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, mode: str, code: int
) -> None:
    """`all` holds every comment; `off` publishes at once."""
    client = make_client(moderation_mode=mode)
    response = post(client, reply())
    comment = accepted(response, code)
    assert response.headers["Location"].endswith(f"/comments/{comment['id']}")
    published = listing(client, ARTICLE)
    assert published["count"] == (1 if mode == "off" else 0)
    assert pending_ids(redis_client, key_prefix) == ([] if mode == "off" else [comment["id"]])
    public = client.get(f"/api/v1/articles/{ARTICLE}/comments/{comment['id']}")
    assert public.status_code == (200 if mode == "off" else 404)


def test_per_article_moderation_mode_override(make_client: ClientFactory) -> None:
    """PATCH an article to `off`, then back to the site's mode with null."""
    client = make_client()
    url = f"/api/v1/moderation/articles/{ARTICLE}"
    patched = client.patch(url, json={"moderation_mode": "off"}, headers=MODERATOR)
    assert patched.status_code == 200
    assert patched.get_json()["moderation_mode"] == "off"
    assert patched.get_json()["moderation_mode_override"] == "off"
    accepted(post(client, reply()), 201)
    accepted(post(client, reply(), article_id="article-2"), 202)

    restored = client.patch(url, json={"moderation_mode": None}, headers=MODERATOR)
    assert restored.status_code == 200
    assert restored.get_json()["moderation_mode"] == "all"
    assert restored.get_json()["moderation_mode_override"] is None
    assert client.get(url, headers=MODERATOR).get_json()["moderation_mode"] == "all"
    accepted(post(client, reply()), 202)
    assert listing(client, ARTICLE)["count"] == 1

    bad = client.patch(url, json={"moderation_mode": "sometimes"}, headers=MODERATOR)
    assert bad.status_code == 422


# --- 12. queue cap ------------------------------------------------------------------------


def test_queue_cap_refuses_comments_that_would_wait(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """With max_pending=2 the third waiting comment is 503; published ones still go through."""
    client = make_client(max_pending=2)
    first = accepted(post(client, reply()))
    accepted(post(client, reply()))
    response = post(client, reply())
    assert_refused(response, 503, QUEUE_FULL)
    assert retry_after(response) > 0
    assert len(pending_ids(redis_client, key_prefix)) == 2
    assert len(stored_ids(redis_client, key_prefix)) == 2
    assert client.get(f"/api/v1/articles/{ARTICLE}/comments").status_code == 200

    switched = client.patch(
        "/api/v1/moderation/articles/open-one", json={"moderation_mode": "off"}, headers=MODERATOR
    )
    assert switched.status_code == 200
    accepted(post(client, reply(), article_id="open-one"), 201)

    decide(client, MODERATOR, first["id"], "approve")
    accepted(post(client, reply()))
    assert len(pending_ids(redis_client, key_prefix)) == 2


def test_queue_cap_is_read_before_the_write_so_racing_submissions_may_pass_it(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cap is checked against the site-wide count read before each write (no script can
    span every bucket's queue): four submissions that all read an empty queue before any is
    stored all wait, so the queue passes the cap by at most the submissions in flight; the next
    one reads the full queue and is refused."""
    app = create_app(app_config(redis_url, key_prefix, max_pending=2))
    store = app.extensions[EXTENSION].store
    read_facts = store.admission_facts
    gate = threading.Barrier(4)

    def facts_then_wait(*args: Any, **kwargs: Any) -> Any:
        # Every submission has read the queue's length before any of them is written.
        facts, spam_answer = read_facts(*args, **kwargs)
        assert facts.pending == 0
        gate.wait(timeout=10)
        return facts, spam_answer

    monkeypatch.setattr(store, "admission_facts", facts_then_wait)
    responses = post_together(app, [reply() for _ in range(4)])
    assert sorted(response.status_code for response in responses) == [202] * 4
    assert len(pending_ids(redis_client, key_prefix)) == 4

    monkeypatch.setattr(store, "admission_facts", read_facts)
    response = post(app.test_client(), reply())
    assert_refused(response, 503, QUEUE_FULL)
    assert len(pending_ids(redis_client, key_prefix)) == 4
    assert len(stored_ids(redis_client, key_prefix)) == 4


def test_one_network_cannot_fill_the_queue_for_everyone(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """With max_pending_per_network=2, a third waiting comment from one IPv6 /64 (any address
    in it) is 503 with Retry-After; another network and an IPv4 client still get in; once a
    moderator decides one of the network's comments, it may send one more."""
    client = make_client(max_pending_per_network=2)
    services = client.application.extensions[EXTENSION]
    first = accepted(post(client, reply(), peer="2001:db8:1:2::1"))
    second = accepted(post(client, reply(), peer="2001:db8:1:2::2"))
    refused = post(client, reply(), peer="2001:db8:1:2:ffff::9")
    assert_refused(refused, 503, QUEUE_FULL)
    assert refused.get_json()["status"] == "Service Unavailable"
    assert retry_after(refused) > 0
    assert len(pending_ids(redis_client, key_prefix)) == 2
    assert len(stored_ids(redis_client, key_prefix)) == 2

    accepted(post(client, reply(), peer="2001:db8:9::1"))
    accepted(post(client, reply(), peer="203.0.113.5"))
    assert len(pending_ids(redis_client, key_prefix)) == 4

    # Stored: one list per network, named by the keyed hash of the network, with no hash tag.
    network_hash = services.comments.client_hash("2001:db8:1:2::1")
    key = Keys(key_prefix).pending_from(network_hash)
    assert redis_client.get(key) == first["id"] + second["id"]
    assert 0 < redis_client.pttl(key) <= 31 * 86_400_000
    names = list(redis_client.scan_iter(match=f"{key_prefix}:pending-from:*"))
    assert len(names) == 3 and key in names
    assert not any("2001" in name or "203.0.113" in name or "{" in name for name in names)

    decide(client, MODERATOR, first["id"], "reject")
    third = accepted(post(client, reply(), peer="2001:db8:1:2::3"))
    # Read at the share, the list lost the decided comment and gained the new one.
    assert redis_client.get(key) == second["id"] + third["id"]
    assert_refused(post(client, reply(), peer="2001:db8:1:2::4"), 503, QUEUE_FULL)


# --- 13. order between rules --------------------------------------------------------------


def test_rules_apply_in_order_closed_blocked_flood_rate_duplicate(
    redis_url: str, key_prefix: str, redis_client: redis.Redis
) -> None:
    """With every refusal triggered at once, each rule answers before the ones after it."""
    every_rule = {"flood_interval": 15, "rate_limits": "1/minute"}
    client = create_app(app_config(redis_url, key_prefix, **every_rule)).test_client()
    payload = reply(email="all-rules@example.com", body="Said it")
    accepted(post(client, payload))
    blocked = client.post(
        "/api/v1/moderation/blocks",
        json={"kind": "email", "value": "all-rules@example.com"},
        headers=MODERATOR,
    )
    assert blocked.status_code == 200
    closed = client.post(f"/api/v1/moderation/articles/{ARTICLE}/close", headers=MODERATOR)
    assert closed.status_code == 200

    assert_refused(post(client, payload), 403, CLOSED)
    reopened = client.post(f"/api/v1/moderation/articles/{ARTICLE}/reopen", headers=MODERATOR)
    assert reopened.status_code == 200
    assert_refused(post(client, payload), 403, BLOCKED)
    lifted = client.delete(
        "/api/v1/moderation/blocks",
        json={"kind": "email", "value": "all-rules@example.com"},
        headers=MODERATOR,
    )
    assert lifted.status_code == 200
    flood = post(client, payload)
    assert_refused(flood, 429, FLOOD)
    assert 1 <= retry_after(flood) <= 15
    # The same Redis, with the flood rule off: the rate limit answers next.
    no_flood = create_app(
        app_config(redis_url, key_prefix, rate_limits="1/minute", flood_interval=0)
    ).test_client()
    assert_refused(post(no_flood, payload), 429, RATE)
    # And with the rate limit off too: the duplicate.
    neither = create_app(app_config(redis_url, key_prefix)).test_client()
    assert_refused(post(neither, payload), 409, DUPLICATE)
    assert len(stored_ids(redis_client, key_prefix)) == 1


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        ({"subject": "bot", "body": "refund me"}, ["honeypot field filled"]),
        ({"body": "casino refund"}, ["disallowed word in text (casino)"]),
        ({"body": f"refund {TWO_LINKS} casino"}, ["disallowed word in text (casino)"]),
    ],
)
def test_spam_beats_held(
    make_client: ClientFactory, fields: dict[str, str], reasons: list[str]
) -> None:
    """A honeypot or a disallowed word files it as spam though a hold rule also matched."""
    client = make_client(disallowed_words="casino", moderation_words="refund")
    comment = accepted(post(client, reply(**fields)))
    stored = item(client, comment["id"])
    assert (stored["status"], stored["reasons"]) == ("spam", reasons)


def test_held_beats_trusted(make_client: ClientFactory) -> None:
    """A trusted commenter's comment with a moderation word waits, with the reason."""
    client = make_client(
        moderation_mode="trusted", trusted_after_approved=1, moderation_words="refund"
    )
    first = accepted(post(client, reply(email="trusty@example.com")))
    decide(client, MODERATOR, first["id"], "approve")
    held = accepted(post(client, reply(email="trusty@example.com", body="Refund please")))
    stored = item(client, held["id"])
    assert (stored["status"], stored["reasons"]) == ("pending", ["moderation word (refund)"])
    accepted(post(client, reply(email="trusty@example.com", body="Thanks")), 201)


def test_blocked_as_spam_beats_held_and_published(make_client: ClientFactory) -> None:
    """With blocked_action=spam, a blocked sender is spam even where moderation is off."""
    client = make_client(blocked_action="spam", moderation_mode="off", moderation_words="refund")
    blocked = client.post(
        "/api/v1/moderation/blocks",
        json={"kind": "domain", "value": "bad.example"},
        headers=MODERATOR,
    )
    assert blocked.status_code == 200
    comment = accepted(post(client, reply(email="x@bad.example", body="refund")))
    stored = item(client, comment["id"])
    assert (stored["status"], stored["reasons"]) == ("spam", ["blocked email domain"])


# --- 14. trusted proxies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "ip"),
    [
        (None, "198.51.100.7", "198.51.100.7"),
        (None, "198.51.100.7, 127.0.0.1", "198.51.100.7"),
        (None, "203.0.113.1, 198.51.100.7", "198.51.100.7"),
        (None, "2001:db8::5", "2001:db8::5"),
        (None, "not-an-ip", "127.0.0.1"),
        (None, "", "127.0.0.1"),
        ("10.0.0.5", "198.51.100.7", "10.0.0.5"),
    ],
)
def test_trusted_proxies_give_the_last_untrusted_forwarded_address(
    make_client: ClientFactory, peer: str | None, forwarded: str, ip: str
) -> None:
    """Behind a trusted proxy the comment's ip is the rightmost untrusted hop."""
    client = make_client(trusted_proxies="127.0.0.1/32")
    comment = accepted(post(client, reply(), headers=xff(forwarded), peer=peer))
    assert item(client, comment["id"])["ip"] == ip


def test_without_trusted_proxies_forwarded_for_changes_nothing(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A spoofed X-Forwarded-For neither changes the ip nor escapes the flood and rate limits."""
    client = make_client(flood_interval=15)
    comment = accepted(post(client, reply(), headers=xff("198.51.100.7")))
    assert item(client, comment["id"])["ip"] == "127.0.0.1"
    assert_refused(post(client, reply(), headers=xff("198.51.100.8")), 429, FLOOD)

    limited = make_client(flood_interval=0, rate_limits="1/minute")
    accepted(post(limited, reply(), headers=xff("203.0.113.1")))
    assert_refused(post(limited, reply(), headers=xff("203.0.113.2")), 429, RATE)
    assert len(pending_ids(redis_client, key_prefix)) == 2
