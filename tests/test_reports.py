"""Readers' reports through the HTTP API: one per client, a threshold of distinct clients that
takes a comment out of publication, the moderators' list, dismissal and decisions, and what is
kept (never a plaintext IP)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from port_for import get_port
from werkzeug.test import TestResponse

from service import EXTENSION
from service.keys import BUCKETS, Keys, article_bucket
from service.moderator_mail import ModeratorMail
from tests.conftest import ClientFactory
from tests.helpers import (
    decide,
    event_entries,
    keyspace_mentions,
    listing,
    moderation_item,
    pending_ids,
    publish,
    submit,
)
from tests.test_moderator_mail import Inbox
from tests.test_webhooks import Receiver, hooked_client, work_until, worker_of

ARTICLE = "article-1"
THANKS = "Thank you, a moderator will look at it."
READERS = ["203.0.113.7", "198.51.100.20", "2001:db8:1::5"]


def report(
    client: FlaskClient,
    comment_id: str,
    ip: str = READERS[0],
    article_id: str = ARTICLE,
    **body: Any,
) -> TestResponse:
    """Report a comment from a client address."""
    return client.post(
        f"/api/v1/articles/{article_id}/comments/{comment_id}/reports",
        json=body or {"reason": "spam"},
        environ_base={"REMOTE_ADDR": ip},
    )


def reported_by(client: FlaskClient, comment_id: str, ips: list[str], reason: str = "spam") -> None:
    """Report a comment from each address, each a first report."""
    for ip in ips:
        response = report(client, comment_id, ip, reason=reason)
        assert response.status_code == 202, response.get_json()


def reported_list(client: FlaskClient, moderator: dict[str, str], **query: Any) -> dict[str, Any]:
    """Read a page of the moderators' list of reported comments."""
    response = client.get(
        "/api/v1/moderation/comments",
        query_string={"reported": "true", **query},
        headers=moderator,
    )
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def audit(client: FlaskClient, moderator: dict[str, str], action: str) -> list[dict[str, Any]]:
    """Read the audit entries of one action, newest first."""
    response = client.get(
        "/api/v1/moderation/audit", query_string={"action": action}, headers=moderator
    )
    assert response.status_code == 200, response.get_json()
    entries: list[dict[str, Any]] = response.get_json()["entries"]
    return entries


def report_keys(key_prefix: str, comment_id: str) -> list[str]:
    """Name a comment's report keys and its bucket's reported list."""
    keys = Keys(key_prefix)
    return [keys.reports(ARTICLE, comment_id), keys.reporters(ARTICLE, comment_id)]


def reported_score(redis_client: redis.Redis, key_prefix: str, comment_id: str) -> float | None:
    """Read a comment's open reports in its bucket's reported list (None: not listed)."""
    score: float | None = redis_client.zscore(
        Keys(key_prefix).reported(article_bucket(ARTICLE)), comment_id
    )
    return score


def test_key_names_of_reports() -> None:
    """A comment's reports live beside it, in its article's bucket (one hash slot)."""
    keys = Keys("comments")
    tag = keys.comments("article-1").split(":a:")[0]
    assert keys.reports("article-1", "c1") == f"{tag}:a:article-1:reports:c1"
    assert keys.reporters("article-1", "c1") == f"{tag}:a:article-1:reporters:c1"
    assert keys.reported(article_bucket("article-1")) == f"{tag}:reported"
    assert keys.report_limits() == "comments:report-limits"


def test_distinct_clients_take_a_comment_out_of_publication(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = publish(client, moderator, body="Buy cheap watches at my shop")

    first = report(client, comment["id"], READERS[0], reason="spam", note="An advert")
    assert first.status_code == 202
    assert first.get_json() == {"message": THANKS}
    assert first.headers["Cache-Control"] == "no-store"
    # Another address of the same IPv6 /64 is the same client: a no-op.
    reported_by(client, comment["id"], [READERS[2]], reason="abusive")
    again = report(client, comment["id"], "2001:db8:1::9", reason="spam")
    assert again.status_code == 200
    assert again.get_json() == {"message": THANKS}
    assert listing(client)["count"] == 1
    assert moderation_item(client, moderator, comment["id"])["status"] == "approved"

    reported_by(client, comment["id"], [READERS[1]])

    assert listing(client)["count"] == 0
    assert client.get(f"/api/v1/articles/{ARTICLE}/comments/{comment['id']}").status_code == 404
    found = moderation_item(client, moderator, comment["id"])
    assert found["status"] == "pending"
    assert found["reports"]["count"] == 3
    assert found["reports"]["reasons"] == {"spam": 2, "abusive": 1}
    assert found["reports"]["hidden_at"]
    assert [entry["reason"] for entry in found["reports"]["entries"]] == [
        "spam",
        "abusive",
        "spam",
    ]
    assert {"reason": "spam", "note": "An advert"}.items() <= found["reports"]["entries"][0].items()
    assert found["reasons"][-1] == "reported by 3 readers (spam 2, abusive 1)"
    assert comment["id"] in pending_ids(redis_client, key_prefix)
    assert redis_client.scard(Keys(key_prefix).reporters(ARTICLE, comment["id"])) == 3
    assert reported_score(redis_client, key_prefix, comment["id"]) == 3
    # Later reports of it: the earlier reporters' are no-ops, a new one finds nothing published.
    assert report(client, comment["id"], READERS[1]).status_code == 200
    missing = report(client, comment["id"], "192.0.2.44")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == 404


def test_reporters_are_kept_only_as_keyed_hashes(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = publish(client, moderator)
    reported_by(client, comment["id"], READERS)
    for address in [*READERS, "2001:db8:1::/64", "2001:db8:1:"]:
        assert keyspace_mentions(redis_client, address) == []
    reporters = redis_client.smembers(Keys(key_prefix).reporters(ARTICLE, comment["id"]))
    assert all(len(reporter) == 32 for reporter in reporters)


@pytest.mark.parametrize("state", ["pending", "rejected", "spam", "unknown", "other article"])
def test_only_a_published_comment_can_be_reported(
    client: FlaskClient, moderator: dict[str, str], state: str, redis_client: redis.Redis
) -> None:
    comment = submit(client)
    comment_id, article_id = comment["id"], ARTICLE
    if state in ("rejected", "spam"):
        decide(client, moderator, comment_id, {"rejected": "reject", "spam": "spam"}[state])
    elif state == "unknown":
        comment_id = comment_id[:-4] + "0000"
    elif state == "other article":
        decide(client, moderator, comment_id, "approve")
        article_id = "article-2"
    response = report(client, comment_id, article_id=article_id)
    body = response.get_json()
    assert response.status_code == 404, body
    assert body == {"code": 404, "status": "Not Found", "message": "No comment with this id."}
    assert keyspace_mentions(redis_client, ":reporters:") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "boring"}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": "spam", "status": "rejected"}, "status"),
        ({"reason": "spam", "note": "x" * 501}, "note"),
        ({"reason": "spam", "note": "see \u202ehttp://evil.example"}, "note"),
        ({"reason": "spam", "note": "bell \x07"}, "note"),
        ({"reason": "spam", "note": 5}, "note"),
    ],
)
def test_a_bad_report_is_refused_in_the_one_error_shape(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
    body: dict[str, Any],
    field: str,
) -> None:
    comment = publish(client, moderator)
    response = (
        report(client, comment["id"], **body)
        if body
        else client.post(f"/api/v1/articles/{ARTICLE}/comments/{comment['id']}/reports", json={})
    )
    answer = response.get_json()
    assert response.status_code == 422, answer
    assert (answer["code"], answer["status"]) == (422, "Unprocessable Entity")
    assert field in answer["errors"]["json"]
    assert reported_score(redis_client, key_prefix, comment["id"]) is None


def test_a_report_that_is_not_json_or_a_form_is_refused(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    comment = publish(client, moderator)
    path = f"/api/v1/articles/{ARTICLE}/comments/{comment['id']}/reports"
    response = client.post(path, data="reason=spam", content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json()["code"] == 415
    broken = client.post(path, data="{", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["code"] == 400


def test_reports_are_rate_limited_per_client(
    make_client: ClientFactory, moderator: dict[str, str]
) -> None:
    client = make_client(report_limits="2/minute")
    comments = [publish(client, moderator) for _ in range(3)]
    assert report(client, comments[0]["id"]).status_code == 202
    assert report(client, comments[1]["id"]).status_code == 202
    refused = report(client, comments[2]["id"])
    answer = refused.get_json()
    assert refused.status_code == 429, answer
    assert answer["message"] == (
        "You have sent too many reports. Please wait before reporting again."
    )
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client is not held back; nor is anyone when the limits are off.
    assert report(client, comments[2]["id"], READERS[1]).status_code == 202
    unlimited = make_client(report_limits="")
    for comment in comments:
        assert report(unlimited, comment["id"], READERS[2]).status_code == 202


def test_cors_preflight_and_answer(make_client: ClientFactory, moderator: dict[str, str]) -> None:
    origin = "https://news.example"
    client = make_client(cors_origins=origin)
    comment = publish(client, moderator)
    path = f"/api/v1/articles/{ARTICLE}/comments/{comment['id']}/reports"
    preflight = client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()

    answer = client.post(path, json={"reason": "off_topic"}, headers={"Origin": origin})
    assert answer.status_code == 202
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert answer.headers.getlist("Vary") == ["Origin"]
    foreign = client.post(path, json={"reason": "spam"}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_a_reported_comment_with_published_replies_stays_as_a_placeholder(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    parent = publish(client, moderator, body="The parent")
    answer = publish(client, moderator, body="A reply", parent_id=parent["id"])
    reported_by(client, parent["id"], READERS)

    page = listing(client)
    assert page["count"] == 1
    [thread] = page["comments"]
    assert thread["id"] == parent["id"]
    assert thread["removed"] is True
    assert (thread["name"], thread["body"]) == (None, None)
    assert [reply["id"] for reply in thread["replies"]] == [answer["id"]]


def test_hiding_is_audited_and_sent_as_a_comment_reported_webhook(
    make_client: ClientFactory,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    receiver = Receiver()
    try:
        client = hooked_client(make_client, receiver.url)
        comment = publish(client, moderator)
        worker = worker_of(client)
        work_until(worker, lambda: len(receiver.requests) == 3)
        reported_by(client, comment["id"], READERS[:2])
        assert worker.drain() == 0  # reports below the threshold send nothing
        reported_by(client, comment["id"], READERS[2:])
        work_until(worker, lambda: len(receiver.requests) == 5)
    finally:
        receiver.close()

    reported, changed = (received.json() for received in receiver.requests[3:])
    assert reported["type"] == "comment.reported"
    assert receiver.requests[3].headers["x-comments-event"] == "comment.reported"
    assert (reported["status"], reported["moderator"]) == ("pending", None)
    assert reported["comment"]["removed"] is True  # as readers see it now
    assert changed["type"] == "article.changed"
    types = [fields["type"] for _, fields in event_entries(redis_client, key_prefix)]
    assert types[-2:] == ["comment.reported", "article.changed"]

    [entry] = audit(client, moderator, "reported")
    assert {
        "comment_id": comment["id"],
        "article_id": ARTICLE,
        "moderator": "readers",
        "before": "approved",
        "after": "pending",
        "reason": "3 readers reported it",
    }.items() <= entry.items()


def test_moderators_list_the_most_reported_first(
    make_client: ClientFactory, moderator: dict[str, str]
) -> None:
    # No threshold: every comment stays published, however reported.
    client = make_client(report_threshold=0)
    once, thrice, twice_old, twice_new, never = (
        publish(client, moderator, article_id=article_id)
        for article_id in ("article-1", "article-2", "article-3", "article-4", "article-5")
    )
    for comment, ips in ((once, READERS[:1]), (thrice, READERS), (twice_old, READERS[:2])):
        for ip in ips:
            assert (
                report(client, comment["id"], ip, article_id=comment["article_id"]).status_code
                == 202
            )
    for ip in READERS[1:]:
        assert (
            report(client, twice_new["id"], ip, article_id=twice_new["article_id"]).status_code
            == 202
        )

    page = reported_list(client, moderator)
    expected = [thrice["id"], twice_new["id"], twice_old["id"], once["id"]]
    assert [found["id"] for found in page["comments"]] == expected
    assert [found["reports"]["count"] for found in page["comments"]] == [3, 2, 2, 1]
    assert {found["status"] for found in page["comments"]} == {"approved"}
    assert page["next_cursor"] is None
    assert never["id"] not in {found["id"] for found in page["comments"]}

    walked: list[str] = []
    cursor = None
    while True:
        query = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        step = reported_list(client, moderator, **query)
        walked += [found["id"] for found in step["comments"]]
        cursor = step["next_cursor"]
        if cursor is None:
            break
    assert walked == expected


@pytest.mark.parametrize(
    "query",
    [
        {"reported": "true", "q": "watches"},
        {"reported": "true", "article_id": "article-1"},
        {"reported": "true", "cursor": "0190f0c0a0b1c2d3e4f5a6b7"},
        {"cursor": "3-0190f0c0a0b1c2d3e4f5a6b7"},
        {"reported": "maybe"},
    ],
)
def test_the_reported_list_refuses_what_it_cannot_do(
    client: FlaskClient, moderator: dict[str, str], query: dict[str, str]
) -> None:
    response = client.get("/api/v1/moderation/comments", query_string=query, headers=moderator)
    answer = response.get_json()
    assert response.status_code == 422, answer
    assert answer["code"] == 422 and answer["errors"]["query"]


def test_dismissing_publishes_again_and_is_audited(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = publish(client, moderator)
    reported_by(client, comment["id"], READERS)
    assert [found["id"] for found in reported_list(client, moderator)["comments"]] == [
        comment["id"]
    ]

    path = f"/api/v1/moderation/comments/{comment['id']}/dismiss-reports"
    dismissed = client.post(path, headers=moderator)
    assert dismissed.status_code == 200, dismissed.get_json()
    assert dismissed.get_json()["status"] == "approved"
    assert dismissed.get_json()["reports"] is None
    assert listing(client)["count"] == 1
    assert reported_list(client, moderator)["comments"] == []
    assert reported_score(redis_client, key_prefix, comment["id"]) is None
    [entry] = audit(client, moderator, "dismiss_reports")
    assert {
        "comment_id": comment["id"],
        "moderator": "alice",
        "before": "pending",
        "after": "approved",
    }.items() <= entry.items()

    # Again: nothing to dismiss, nothing changes; the same readers cannot report it again.
    assert client.post(path, headers=moderator).status_code == 200
    assert len(audit(client, moderator, "dismiss_reports")) == 1
    for ip in READERS:
        assert report(client, comment["id"], ip).status_code == 200
    assert moderation_item(client, moderator, comment["id"])["reports"] is None
    assert report(client, comment["id"], "192.0.2.44").status_code == 202
    assert client.post(path).status_code == 401
    unknown = client.post(
        f"/api/v1/moderation/comments/{comment['id'][:-4]}0000/dismiss-reports", headers=moderator
    )
    assert unknown.status_code == 404


def test_dismissing_reports_below_the_threshold_keeps_it_published(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    comment = publish(client, moderator)
    reported_by(client, comment["id"], READERS[:1])
    path = f"/api/v1/moderation/comments/{comment['id']}/dismiss-reports"
    answer = client.post(path, headers=moderator).get_json()
    assert (answer["status"], answer["reports"]) == ("approved", None)
    [entry] = audit(client, moderator, "dismiss_reports")
    assert (entry["before"], entry["after"]) == ("approved", "approved")


@pytest.mark.parametrize("action", ["approve", "reject", "spam"])
def test_a_decision_answers_the_reports(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
    action: str,
) -> None:
    hidden = publish(client, moderator)
    below = publish(client, moderator)
    reported_by(client, hidden["id"], READERS)
    reported_by(client, below["id"], READERS[:1])

    decided = decide(client, moderator, hidden["id"], action)
    assert decided["reports"] is None
    assert (
        decided["status"] == {"approve": "approved", "reject": "rejected", "spam": "spam"}[action]
    )
    bulk = client.post(
        "/api/v1/moderation/decisions",
        json={"ids": [below["id"]], "action": action},
        headers=moderator,
    )
    assert bulk.status_code == 200
    assert reported_list(client, moderator)["comments"] == []
    for comment in (hidden, below):
        assert reported_score(redis_client, key_prefix, comment["id"]) is None
        assert not redis_client.exists(Keys(key_prefix).reports(ARTICLE, comment["id"]))
    assert listing(client)["count"] == (2 if action == "approve" else 0)


def test_deleting_a_comment_removes_its_reports(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = publish(client, moderator)
    reported_by(client, comment["id"], READERS[:2])
    assert all(redis_client.exists(key) for key in report_keys(key_prefix, comment["id"]))

    deleted = client.delete(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator)
    assert deleted.status_code == 204
    assert not any(redis_client.exists(key) for key in report_keys(key_prefix, comment["id"]))
    assert reported_score(redis_client, key_prefix, comment["id"]) is None
    mentions = keyspace_mentions(redis_client, comment["id"])
    assert [key for key in mentions if "report" in key] == []


@pytest.mark.parametrize("mode", ["anonymize", "delete"])
def test_erasing_a_readers_data_removes_the_reports_of_their_comments(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
    mode: str,
) -> None:
    email = "erased-reader@example.com"
    comment = publish(client, moderator, email=email)
    other = publish(client, moderator)
    reported_by(client, comment["id"], READERS[:2], reason="abusive")
    reported_by(client, other["id"], READERS[:1])

    erased = client.post(
        "/api/v1/moderation/privacy/erase", json={"email": email, "mode": mode}, headers=moderator
    )
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json()["erased"] == 1
    assert not any(redis_client.exists(key) for key in report_keys(key_prefix, comment["id"]))
    assert reported_score(redis_client, key_prefix, comment["id"]) is None
    # Another reader's comment keeps its reports.
    assert reported_score(redis_client, key_prefix, other["id"]) == 1


def test_every_bucket_has_its_own_reported_list(
    make_client: ClientFactory,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    client = make_client(report_threshold=0, report_limits="")
    articles = [f"article-{number}" for number in range(40)]
    buckets = {article_bucket(article_id) for article_id in articles}
    assert len(buckets) > BUCKETS // 2
    for article_id in articles:
        comment = publish(client, moderator, article_id=article_id)
        assert report(client, comment["id"], article_id=article_id).status_code == 202
    keys = Keys(key_prefix)
    listed = sum(redis_client.zcard(keys.reported(bucket)) for bucket in range(BUCKETS))
    assert listed == len(articles)
    walked = 0
    cursor = None
    while True:
        step = reported_list(client, moderator, limit=7, **({"cursor": cursor} if cursor else {}))
        walked += len(step["comments"])
        cursor = step["next_cursor"]
        if cursor is None:
            break
    assert walked == len(articles)


def test_concurrent_reports_take_it_out_of_publication_once(
    make_client: ClientFactory,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    """Many readers at once: exactly `report_threshold` reports count, the move happens once."""
    client = make_client()
    comment = publish(client, moderator)
    addresses = [f"198.51.100.{number}" for number in range(1, 13)]
    barrier = threading.Barrier(len(addresses))
    statuses: list[int] = []

    def reader(ip: str) -> None:
        own = client.application.test_client()
        barrier.wait()
        statuses.append(report(own, comment["id"], ip).status_code)

    threads = [threading.Thread(target=reader, args=(ip,)) for ip in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [202] * 3 + [404] * (len(addresses) - 3)
    assert moderation_item(client, moderator, comment["id"])["reports"]["count"] == 3
    assert len(audit(client, moderator, "reported")) == 1
    assert listing(client)["count"] == 0
    assert comment["id"] in pending_ids(redis_client, key_prefix)


def test_a_long_published_comment_waits_from_its_hiding_for_the_purge(
    app: Flask,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = app.test_client()
    forty_days_ago = datetime.now(UTC) - timedelta(days=40)

    class Earlier(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Earlier:
            return cls.fromtimestamp(forty_days_ago.timestamp(), tz)

    monkeypatch.setattr("service.comments.datetime", Earlier)
    comment = publish(client, moderator)
    monkeypatch.undo()
    reported_by(client, comment["id"], READERS)
    assert comment["id"] in pending_ids(redis_client, key_prefix)

    moderation = app.extensions[EXTENSION].moderation
    assert moderation.purge_pending(30) == 0
    assert moderation_item(client, moderator, comment["id"])["reports"]["count"] == 3
    # Once it has waited long enough, the purge takes it, and its reports with it.
    assert moderation.purge_pending(-1) == 1
    assert not any(redis_client.exists(key) for key in report_keys(key_prefix, comment["id"]))
    assert reported_score(redis_client, key_prefix, comment["id"]) is None


def form_report(client: FlaskClient, comment_id: str, **form: str) -> TestResponse:
    """Post the report form of the page without JavaScript, as a browser does."""
    return client.post(
        f"/api/v1/articles/{ARTICLE}/comments/{comment_id}/reports",
        data=form,
        headers={"Accept": "text/html,application/xhtml+xml"},
        environ_base={"REMOTE_ADDR": READERS[0]},
    )


def test_the_page_without_javascript_reports_and_shows_refusals(
    make_client: ClientFactory, moderator: dict[str, str]
) -> None:
    client = make_client(report_limits="2/minute")
    comment = publish(client, moderator, name="Pat Poster")
    page = client.get(f"/articles/{ARTICLE}/comments").get_data(as_text=True)
    assert f"report={comment['id']}#report-{comment['id']}" in page
    opened = client.get(f"/articles/{ARTICLE}/comments?report={comment['id']}")
    assert "Report this comment to the moderators?" in opened.get_data(as_text=True)

    sent = form_report(client, comment["id"], reason="off_topic", note="")
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith(f"?reported={comment['id']}#reported")
    thanked = client.get(sent.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert THANKS in thanked
    assert moderation_item(client, moderator, comment["id"])["reports"]["reasons"] == {
        "off_topic": 1
    }

    bad = form_report(client, comment["id"], reason="boring")
    assert bad.status_code == 422
    assert bad.mimetype == "text/html"
    assert "Report this comment to the moderators?" in bad.get_data(as_text=True)

    # A repeat thanks the reader all the same (and counts against the limit).
    assert form_report(client, comment["id"], reason="spam").status_code == 303
    limited = form_report(client, comment["id"], reason="spam")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "You have sent too many reports." in limited.get_data(as_text=True)


def test_moderators_are_emailed_about_a_comment_readers_took_out(
    make_client: ClientFactory, moderator: dict[str, str]
) -> None:
    inbox = Inbox()
    port = get_port(None)
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        client = make_client(
            notify_emails="desk@news.example",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls="false",
        )
        comment = publish(client, moderator, name="Rae Reported", body="Buy my watches")
        services = client.application.extensions[EXTENSION]
        mailer = ModeratorMail(services.store, services.settings, consumer="test")
        assert mailer.send_due() == 1  # the submission
        reported_by(client, comment["id"], READERS[:2])
        assert mailer.send_due() == 0  # below the threshold: nothing to do yet
        reported_by(client, comment["id"], READERS[2:])
        assert mailer.send_due() == 1
    finally:
        server.stop()
    text = inbox.messages[-1].get_content()
    assert "on article-1, Rae Reported [reported by readers]:" in text
    assert "Buy my watches" in text


def test_the_page_without_javascript_tells_when_the_comment_is_gone(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    comment = publish(client, moderator)
    decide(client, moderator, comment["id"], "reject")
    gone = form_report(client, comment["id"], reason="spam")
    assert gone.status_code == 404
    assert gone.mimetype == "text/html"
    assert "This comment can no longer be reported." in gone.get_data(as_text=True)
