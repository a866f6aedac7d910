"""Readers' data rights: export and erasure by email, and the retention of private data."""

from __future__ import annotations

import json
import logging
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service import EXTENSION, create_app
from service.cli import main
from service.comments import rfc3339
from service.data_rights import RetentionReport
from service.keys import Keys
from service.privacy import Privacy
from service.settings import SettingsError, load_settings
from tests.conftest import SECRET_KEY, ClientFactory, app_config
from tests.helpers import decide, keyspace_mentions, listing, publish, reply, submit

EXPORT = "/api/v1/moderation/privacy/export"
ERASE = "/api/v1/moderation/privacy/erase"
PRIVACY = Privacy(SECRET_KEY)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) DataRightsTest/1.0"


def unique_email() -> str:
    """Give an address no other test uses, so a keyspace scan finds only this test's traces."""
    return f"reader{secrets.token_hex(6)}@example.com"


def post(
    client: FlaskClient,
    article_id: str = "article-1",
    ip: str = "203.0.113.7",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> str:
    """Submit a reply from an IP and a browser of our choosing; give its id."""
    response = client.post(
        f"/api/v1/articles/{article_id}/comments",
        json=reply(**fields),
        headers={"User-Agent": BROWSER, **(headers or {})},
        environ_base={"REMOTE_ADDR": ip},
    )
    assert response.status_code in (201, 202), response.get_json()
    comment_id: str = response.get_json()["comment"]["id"]
    return comment_id


def export(client: FlaskClient, headers: dict[str, str], email: str) -> dict[str, Any]:
    """Export one email's data; fail loudly unless it answers 200."""
    response = client.get(EXPORT, headers=headers, query_string={"email": email})
    assert response.status_code == 200, response.get_json()
    document: dict[str, Any] = response.get_json()
    return document


def erase(client: FlaskClient, headers: dict[str, str], email: str, **body: Any) -> dict[str, Any]:
    """Erase one email's data; fail loudly unless it answers 200."""
    response = client.post(ERASE, headers=headers, json={"email": email, **body})
    assert response.status_code == 200, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def traces(redis_client: redis.Redis, email: str) -> list[str]:
    """Name every key holding the email, its keyed hash or its avatar seed, in name or value."""
    needles = {
        email,
        email.split("@")[0],
        email.upper(),
        PRIVACY.email_hash(email),
        PRIVACY.avatar_seed(email),
    }
    return sorted({key for needle in needles for key in keyspace_mentions(redis_client, needle)})


def find(page: dict[str, Any], comment_id: str) -> dict[str, Any] | None:
    """Find a comment anywhere in a page of threads."""
    nodes = list(page["comments"])
    while nodes:
        node = nodes.pop()
        if node["id"] == comment_id:
            found: dict[str, Any] = node
            return found
        nodes.extend(node["replies"])
    return None


def without_replies(node: dict[str, Any] | None) -> dict[str, Any]:
    """Give a listed comment's own fields, without the replies under it."""
    assert node is not None
    return {name: value for name, value in node.items() if name != "replies"}


def moderation_item(client: FlaskClient, headers: dict[str, str], comment_id: str) -> Any:
    """Read one comment as moderators see it (the answer's JSON, or None on 404)."""
    response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=headers)
    assert response.status_code in (200, 404)
    return response.get_json() if response.status_code == 200 else None


# --- export ---------------------------------------------------------------------------------


def test_export_gives_every_comment_with_its_private_data(
    client: FlaskClient, moderator: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = unique_email()
    first = post(client, "article-1", email=email, name="Ann", website="https://ann.example/")
    second = post(client, "article-2", email=email, body="On the second article")
    rejected = post(client, "article-2", email=email, ip="198.51.100.9")
    spam = post(client, "article-3", email=email, subject="bot")
    pending = post(client, "article-3", email=email)
    post(client, "article-1", email=unique_email())
    decide(client, moderator, first, "approve")
    decide(client, moderator, second, "approve")
    decide(client, moderator, rejected, "reject", reason="Off topic")

    # The address is found whatever its case, as submissions are.
    document = export(client, moderator, email.upper().replace("EXAMPLE.COM", "example.com"))
    assert document["email"] == email.upper().replace("EXAMPLE.COM", "example.com")
    assert (document["blocked"], document["approved_comments"]) == (False, 2)
    comments = {comment["id"]: comment for comment in document["comments"]}
    # Oldest first (ids sort by arrival); another reader's comment is not among them.
    assert list(comments) == sorted({first, second, rejected, spam, pending})
    assert {
        comment_id: (comments[comment_id]["article_id"], comments[comment_id]["status"])
        for comment_id in comments
    } == {
        first: ("article-1", "approved"),
        second: ("article-2", "approved"),
        rejected: ("article-2", "rejected"),
        spam: ("article-3", "spam"),
        pending: ("article-3", "pending"),
    }
    for comment in comments.values():
        assert comment["email"] == email
        assert comment["user_agent"] == BROWSER
        assert comment["created_at"] and comment["avatar"] == PRIVACY.avatar_seed(email)
    assert comments[first]["ip"] == "203.0.113.7"
    assert comments[rejected]["ip"] == "198.51.100.9"
    assert (comments[first]["name"], comments[first]["website"]) == ("Ann", "https://ann.example/")
    assert comments[second]["body"] == "On the second article"
    assert comments[first]["decided_by"] == "alice" and comments[first]["decided_at"]
    assert comments[rejected]["reason"] == "Off topic"
    assert comments[spam]["reasons"] == ["honeypot field filled"]
    assert comments[pending]["decided_at"] is None

    blocked = client.post(
        "/api/v1/moderation/blocks", headers=moderator, json={"kind": "email", "value": email}
    )
    assert blocked.status_code == 200
    assert export(client, moderator, email)["blocked"] is True
    assert all(email.split("@")[0] not in record.getMessage() for record in caplog.records)


def test_export_of_an_unknown_email_is_empty(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    post(client)
    document = export(client, moderator, "nobody@example.com")
    assert document == {
        "email": "nobody@example.com",
        "blocked": False,
        "approved_comments": 0,
        "comments": [],
    }


def test_data_rights_need_a_moderator_token(client: FlaskClient) -> None:
    email = unique_email()
    wrong = {"Authorization": "Bearer not-a-moderator-token-0000"}
    for headers in ({}, wrong):
        answer = client.get(EXPORT, headers=headers, query_string={"email": email})
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.post(ERASE, headers=headers, json={"email": email}).status_code == 401


@pytest.mark.parametrize("email", ["not-an-email", "ann@localhost", "Ann <ann@example.com>", ""])
def test_a_bad_email_is_refused(client: FlaskClient, moderator: dict[str, str], email: str) -> None:
    answer = client.get(EXPORT, headers=moderator, query_string={"email": email})
    assert answer.status_code == 422
    assert "email" in answer.get_json()["errors"]["query"]
    answer = client.post(ERASE, headers=moderator, json={"email": email})
    assert answer.status_code == 422
    assert "email" in answer.get_json()["errors"]["json"]


def test_erase_refuses_unknown_modes_and_fields(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    email = unique_email()
    assert client.get(EXPORT, headers=moderator).status_code == 422
    for body in ({"email": email, "mode": "shred"}, {"email": email, "everything": True}):
        assert client.post(ERASE, headers=moderator, json=body).status_code == 422


# --- erasure --------------------------------------------------------------------------------


def test_erase_anonymizes_and_leaves_no_trace_of_the_email(
    client: FlaskClient,
    make_client: ClientFactory,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    email, other_email = unique_email(), unique_email()
    root = post(client, "article-1", email=email, name="Ann", website="https://ann.example/")
    decide(client, moderator, root, "approve")
    answer = post(client, "article-1", email=other_email, name="Bob", parent_id=root)
    decide(client, moderator, answer, "approve")
    own_reply = post(client, "article-1", email=email, parent_id=answer, body="Thanks, Bob")
    decide(client, moderator, own_reply, "approve")
    # A kept Idempotency-Key answer shows the comment as it was, avatar seed included.
    elsewhere = post(client, "article-2", email=email, headers={"Idempotency-Key": "ann-1"})
    decide(client, moderator, elsewhere, "reject")
    pending = post(client, "article-2", email=email)
    # A flood mark names the email's hash; this client keeps one for a minute.
    flooding = make_client(flood_interval=60)
    held = post(flooding, "article-3", email=email)
    before = listing(client, "article-1")  # cached by this worker until the list changes
    counts = client.get("/api/v1/counts?article_id=article-1&article_id=article-2").get_json()
    bob_before = export(client, moderator, other_email)
    assert traces(redis_client, email)

    result = erase(client, moderator, email)
    assert result == {"erased": 5, "mode": "anonymize", "blocked": False}

    after = listing(client, "article-1")
    assert after["count"] == before["count"] == 3
    shown_root, shown_reply = find(after, root), find(after, own_reply)
    assert shown_root is not None and shown_reply is not None
    assert (shown_root["name"], shown_root["website"], shown_root["avatar"]) == (
        "Anonymous",
        None,
        None,
    )
    assert shown_root["body"] == without_replies(find(before, root))["body"]
    assert (shown_reply["name"], shown_reply["body"]) == ("Anonymous", "Thanks, Bob")
    assert without_replies(find(after, answer)) == without_replies(find(before, answer))
    assert client.get("/api/v1/counts?article_id=article-1&article_id=article-2").get_json() == (
        counts
    )
    for comment_id in (root, own_reply, elsewhere, pending, held):
        item = moderation_item(client, moderator, comment_id)
        assert item["name"] == "Anonymous"
        assert (item["email"], item["ip"], item["user_agent"]) == (None, None, None)
    assert moderation_item(client, moderator, elsewhere)["status"] == "rejected"
    assert moderation_item(client, moderator, pending)["status"] == "pending"

    assert export(client, moderator, email)["comments"] == []
    assert export(client, moderator, other_email) == bob_before
    assert traces(redis_client, email) == []
    assert all(email.split("@")[0] not in record.getMessage() for record in caplog.records)
    assert erase(client, moderator, email)["erased"] == 0

    # The anonymized comments still move through moderation without bringing anything back.
    decide(client, moderator, root, "reject")
    decide(client, moderator, root, "approve")
    decide(client, moderator, elsewhere, "approve")
    assert listing(client, "article-2")["count"] == 1
    assert traces(redis_client, email) == []


def test_erase_can_remove_the_text_too(
    make_client: ClientFactory, moderator: dict[str, str], redis_client: redis.Redis
) -> None:
    client = make_client(erase_keeps_text=False)
    email = unique_email()
    comment = post(client, email=email, body="Something I regret saying")
    decide(client, moderator, comment, "approve")

    assert erase(client, moderator, email)["erased"] == 1
    shown = find(listing(client), comment)
    assert shown is not None
    assert (shown["name"], shown["body"], shown["body_html"]) == (
        "Anonymous",
        "[removed]",
        "<p>[removed]</p>",
    )
    assert keyspace_mentions(redis_client, "regret") == []
    assert traces(redis_client, email) == []


def test_erase_in_delete_mode_removes_the_comments(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis
) -> None:
    email, other_email = unique_email(), unique_email()
    root = post(client, email=email)
    decide(client, moderator, root, "approve")
    answer = post(client, email=other_email, parent_id=root, body="A reply that stays")
    decide(client, moderator, answer, "approve")
    alone = post(client, email=email)
    decide(client, moderator, alone, "approve")
    other = publish(client, moderator, email=other_email)
    pending = post(client, "article-2", email=email)
    assert listing(client)["count"] == 4

    assert erase(client, moderator, email, mode="delete") == {
        "erased": 3,
        "mode": "delete",
        "blocked": False,
    }
    page = listing(client)
    assert page["count"] == 2
    assert client.get("/api/v1/counts?article_id=article-1").get_json()["counts"] == {
        "article-1": 2
    }
    placeholder = find(page, root)
    assert placeholder is not None and placeholder["removed"] is True
    assert placeholder["name"] is None and placeholder["body"] is None
    assert [reply["id"] for reply in placeholder["replies"]] == [answer]
    assert find(page, alone) is None and find(page, other["id"]) is not None
    for comment_id in (alone, pending):
        assert moderation_item(client, moderator, comment_id) is None
    assert traces(redis_client, email) == []
    assert erase(client, moderator, email, mode="delete")["erased"] == 0
    assert len(export(client, moderator, other_email)["comments"]) == 2


def test_erase_mode_defaults_to_the_setting(
    make_client: ClientFactory, moderator: dict[str, str]
) -> None:
    client = make_client(erase_mode="delete")
    email = unique_email()
    comment = publish(client, moderator, email=email)
    assert erase(client, moderator, email) == {"erased": 1, "mode": "delete", "blocked": False}
    assert listing(client)["count"] == 0
    assert moderation_item(client, moderator, comment["id"]) is None


def test_erase_leaves_a_block_for_moderators_to_lift(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis
) -> None:
    email = unique_email()
    submit(client, email=email)
    blocks = "/api/v1/moderation/blocks"
    client.post(blocks, headers=moderator, json={"kind": "email", "value": email})

    assert erase(client, moderator, email) == {"erased": 1, "mode": "anonymize", "blocked": True}
    assert email in client.get(blocks, headers=moderator).get_json()["emails"]
    client.delete(blocks, headers=moderator, json={"kind": "email", "value": email})
    assert traces(redis_client, email) == []


def erase_together(hosts: list[Flask], email: str, mode: str) -> list[int]:
    """Erase one email on each host at the same moment; give how many each counted."""
    barrier = threading.Barrier(len(hosts))
    counts: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(host: Flask) -> None:
        try:
            barrier.wait(timeout=10)
            count = host.extensions[EXTENSION].data_rights.erase(email, mode, "alice")["erased"]
        except BaseException as error:  # reported below, in the test's thread
            with lock:
                failures.append(error)
            return
        with lock:
            counts.append(count)

    threads = [threading.Thread(target=run, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and len(counts) == len(hosts)
    return counts


@pytest.mark.parametrize("mode", ["anonymize", "delete"])
def test_two_erasures_at_once_count_each_comment_once(
    redis_url: str,
    key_prefix: str,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    mode: str,
) -> None:
    hosts = [create_app(app_config(redis_url, key_prefix)) for _ in range(3)]
    for host in hosts:
        host.extensions[EXTENSION].data_rights.batch = 2
    client = hosts[0].test_client()
    email = unique_email()
    comments = [post(client, f"article-{number % 2}", email=email) for number in range(12)]
    for comment_id in comments[:6]:
        decide(client, moderator, comment_id, "approve")
    kept = publish(client, moderator, "article-0")

    assert sum(erase_together(hosts, email, mode)) == len(comments)
    assert traces(redis_client, email) == []
    pages = [listing(client, "article-0"), listing(client, "article-1")]
    if mode == "anonymize":
        assert [page["count"] for page in pages] == [4, 3]
        names = {comment["name"] for page in pages for comment in page["comments"]}
        assert names == {"Anonymous", kept["name"]}
    else:
        assert [page["count"] for page in pages] == [1, 0]


# --- retention ------------------------------------------------------------------------------


def backdate(
    redis_client: redis.Redis, key_prefix: str, comment_id: str, days: float, article: str
) -> None:
    """Make a comment look decided `days` ago."""
    moment = rfc3339(datetime.now(UTC) - timedelta(days=days))
    key = Keys(key_prefix).comments(article)
    record = json.loads(redis_client.hget(key, comment_id))
    redis_client.hset(key, comment_id, json.dumps(record | {"at": moment}))


def retention(app: Flask) -> RetentionReport:
    """Run an app's retention use case once."""
    report: RetentionReport = app.extensions[EXTENSION].data_rights.apply_retention()
    return report


def test_retention_drops_ip_then_rejected_private_data(
    app: Flask, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    client = app.test_client()
    approved_email, rejected_email, spam_email = unique_email(), unique_email(), unique_email()
    approved = post(client, email=approved_email)
    rejected = post(client, email=rejected_email, body="Rejected words")
    spam = post(client, email=spam_email)
    recent = post(client)
    pending = post(client)
    decide(client, moderator, approved, "approve")
    decide(client, moderator, rejected, "reject")
    decide(client, moderator, spam, "spam")
    decide(client, moderator, recent, "approve")
    for comment_id in (approved, rejected, spam):
        backdate(redis_client, key_prefix, comment_id, 40, "article-1")
    backdate(redis_client, key_prefix, recent, 29, "article-1")

    assert retention(app) == RetentionReport(ip_removed=3, private_deleted=0)
    for comment_id, email in ((approved, approved_email), (rejected, rejected_email)):
        item = moderation_item(client, moderator, comment_id)
        assert (item["email"], item["ip"], item["user_agent"]) == (email, "", "")
        [exported] = export(client, moderator, email)["comments"]
        assert (exported["email"], exported["ip"], exported["user_agent"]) == (email, None, None)
    for comment_id in (recent, pending):
        item = moderation_item(client, moderator, comment_id)
        assert (item["ip"], item["user_agent"]) == ("203.0.113.7", BROWSER)
    assert retention(app) == RetentionReport(0, 0)

    for comment_id in (approved, rejected, spam):
        backdate(redis_client, key_prefix, comment_id, 100, "article-1")
    assert retention(app) == RetentionReport(ip_removed=0, private_deleted=2)
    for comment_id, status in ((rejected, "rejected"), (spam, "spam")):
        item = moderation_item(client, moderator, comment_id)
        assert item["status"] == status and item["body"]
        assert (item["email"], item["ip"], item["user_agent"]) == (None, None, None)
    assert export(client, moderator, rejected_email)["comments"] == []
    assert keyspace_mentions(redis_client, PRIVACY.email_hash(rejected_email)) == []
    assert keyspace_mentions(redis_client, PRIVACY.email_hash(spam_email)) == []
    # Approved comments keep their email, whatever their age.
    assert moderation_item(client, moderator, approved)["email"] == approved_email
    assert len(export(client, moderator, approved_email)["comments"]) == 1
    assert listing(client)["count"] == 2
    assert retention(app) == RetentionReport(0, 0)


def test_retention_rules_turn_off_with_zero(
    redis_url: str,
    key_prefix: str,
    moderator: dict[str, str],
    redis_client: redis.Redis,
) -> None:
    app = create_app(
        app_config(redis_url, key_prefix, ip_retention_days=0, reject_retention_days=0)
    )
    client = app.test_client()
    rejected = post(client)
    decide(client, moderator, rejected, "reject")
    backdate(redis_client, key_prefix, rejected, 1000, "article-1")
    assert retention(app) == RetentionReport(0, 0)
    assert moderation_item(client, moderator, rejected)["ip"] == "203.0.113.7"


@pytest.mark.usefixtures("cli_env")
def test_retention_command_reports_what_it_did(
    app: Flask,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = app.test_client()
    approved, rejected = post(client), post(client)
    decide(client, moderator, approved, "approve")
    decide(client, moderator, rejected, "reject")
    backdate(redis_client, key_prefix, approved, 31, "article-1")
    backdate(redis_client, key_prefix, rejected, 91, "article-1")

    assert main(["retention"]) == 0
    assert capsys.readouterr().out == (
        "Removed IP and user agent from 1 comment(s) decided over 30 day(s) ago; deleted the "
        "private data of 1 rejected or spam comment(s) decided over 90 day(s) ago.\n"
    )
    monkeypatch.setenv("COMMENTS_IP_RETENTION_DAYS", "7")
    assert main(["retention"]) == 0
    assert capsys.readouterr().out.startswith("Removed IP and user agent from 0 comment(s)")


# --- settings -------------------------------------------------------------------------------


def test_data_rights_settings() -> None:
    settings = load_settings(environ={})
    assert (settings.erase_mode, settings.erase_keeps_text) == ("anonymize", True)
    assert (settings.ip_retention_days, settings.reject_retention_days) == (30, 90)
    assert load_settings(environ={"COMMENTS_ERASE_KEEPS_TEXT": "false"}).erase_keeps_text is False
    assert load_settings({"erase_keeps_text": False}, environ={}).erase_keeps_text is False
    assert load_settings(environ={"COMMENTS_ERASE_KEEPS_TEXT": "1"}).erase_keeps_text is True
    for environ in ({"COMMENTS_ERASE_KEEPS_TEXT": "maybe"}, {"COMMENTS_ERASE_MODE": "shred"}):
        with pytest.raises(SettingsError):
            load_settings(environ=environ)
