"""Purging stale pending comments: the use case, the `purge` command, and two purges at once."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, tzinfo
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service import EXTENSION, create_app
from service.cli import main
from tests.conftest import MODERATOR_TOKENS, app_config
from tests.helpers import decide, listing, reply
from tests.helpers import pending_ids as pending_queue

ARTICLE = "article-1"
MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}


@pytest.fixture
def app(redis_url: str, key_prefix: str, redis_client: redis.Redis) -> Flask:
    """Build the service on this test's key prefix."""
    return create_app(app_config(redis_url, key_prefix))


def purge(app: Flask, older_than_days: int, batch: int = 500) -> int:
    """Run the purge use case of an app; give how many comments it removed."""
    removed: int = app.extensions[EXTENSION].moderation.purge_pending(older_than_days, batch)
    return removed


def backdate(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """Make the submissions that follow arrive `days` ago, as the service's clock sees it."""
    shift = timedelta(days=days)

    class Earlier(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Earlier:
            moment = datetime.now(tz) - shift
            return cls.fromtimestamp(moment.timestamp(), moment.tzinfo)

    monkeypatch.setattr("service.comments.datetime", Earlier)


def submit(client: FlaskClient, **fields: Any) -> str:
    """Submit a reply; give its id."""
    response = client.post(f"/api/v1/articles/{ARTICLE}/comments", json=reply(**fields))
    assert response.status_code == 202, response.get_json()
    comment_id: str = response.get_json()["comment"]["id"]
    return comment_id


def pending_ids(redis_client: redis.Redis, key_prefix: str) -> set[str]:
    """Read the site-wide pending queue straight from Redis (every bucket's share)."""
    return set(pending_queue(redis_client, key_prefix))


def stored_traces(redis_client: redis.Redis, key_prefix: str, comment_id: str) -> list[str]:
    """Name every key that still holds anything of a comment: records, indexes, lookups. A
    network's set of pending comments is not one: it drops ids no longer pending when it is
    next checked, and expires (README, "Redis layout")."""
    found = []
    for key in redis_client.scan_iter(match=f"{key_prefix}:*", count=1000):
        if key.startswith(f"{key_prefix}:pending-from:"):
            continue
        if comment_id in key:
            found.append(key)
            continue
        kind = redis_client.type(key)
        if kind == "zset" and redis_client.zscore(key, comment_id) is not None:
            found.append(key)
        elif kind == "hash" and redis_client.hexists(key, comment_id):
            found.append(key)
        elif kind == "string" and redis_client.get(key) == comment_id:
            found.append(key)
    return found


def test_purge_removes_only_pending_comments_older_than_the_cutoff(
    app: Flask, redis_client: redis.Redis, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pending comments past N days go with every trace; decided and younger ones stay."""
    client = app.test_client()
    backdate(monkeypatch, 40)
    old_pending = [submit(client) for _ in range(2)]
    old_approved = submit(client)
    old_rejected = submit(client)
    old_spam = submit(client, subject="bot")
    decide(client, MODERATOR, old_approved, "approve")
    decide(client, MODERATOR, old_rejected, "reject")
    backdate(monkeypatch, 10)
    younger = [submit(client) for _ in range(2)]
    monkeypatch.undo()
    fresh = submit(client)

    assert purge(app, 30) == 2
    assert pending_ids(redis_client, key_prefix) == {*younger, fresh}
    for comment_id in old_pending:
        assert stored_traces(redis_client, key_prefix, comment_id) == []
        response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
        assert response.status_code == 404
    for comment_id, status in [
        (old_approved, "approved"),
        (old_rejected, "rejected"),
        (old_spam, "spam"),
    ]:
        response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
        assert response.get_json()["status"] == status
    assert listing(client, ARTICLE)["count"] == 1

    assert purge(app, 30) == 0
    assert purge(app, 5) == 2
    assert pending_ids(redis_client, key_prefix) == {fresh}
    assert purge(app, -1) == 1
    assert pending_ids(redis_client, key_prefix) == set()
    assert listing(client, ARTICLE)["comments"][0]["id"] == old_approved


def test_a_purged_comment_no_longer_counts_as_a_duplicate(
    app: Flask, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Purging forgets the comment's fingerprint, so its author may post the text again."""
    client = app.test_client()
    payload = reply(email="patient@example.com", body="Still waiting?")
    url = f"/api/v1/articles/{ARTICLE}/comments"
    assert client.post(url, json=payload).status_code == 202
    assert client.post(url, json=payload).status_code == 409
    assert purge(app, -1) == 1
    assert client.post(url, json=payload).status_code == 202
    assert len(pending_ids(redis_client, key_prefix)) == 1


@pytest.mark.usefixtures("cli_env")
def test_purge_command_reports_what_it_removed(
    app: Flask,
    redis_client: redis.Redis,
    key_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`news-comments purge --older-than-days -1` removes every pending comment, once."""
    client = app.test_client()
    pending = [submit(client) for _ in range(2)]
    approved = submit(client)
    decide(client, MODERATOR, approved, "approve")
    assert pending_ids(redis_client, key_prefix) == set(pending)

    assert main(["purge", "--older-than-days", "-1"]) == 0
    assert capsys.readouterr().out == "Removed 2 pending comment(s) older than -1 day(s).\n"
    assert pending_ids(redis_client, key_prefix) == set()
    assert listing(client, ARTICLE)["count"] == 1

    assert main(["purge", "--older-than-days", "-1"]) == 0
    assert capsys.readouterr().out == "Removed 0 pending comment(s) older than -1 day(s).\n"


@pytest.mark.usefixtures("cli_env")
def test_purge_command_with_zero_days_removes_what_arrived_before_now(
    app: Flask, redis_client: redis.Redis, key_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--older-than-days 0` removes every comment that was pending before the command ran."""
    client = app.test_client()
    for _ in range(3):
        submit(client)
    time.sleep(0.01)
    assert main(["purge", "--older-than-days", "0"]) == 0
    assert capsys.readouterr().out == "Removed 3 pending comment(s) older than 0 day(s).\n"
    assert pending_ids(redis_client, key_prefix) == set()


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(("setting", "removed"), [(None, 1), ("5", 2), ("60", 0)])
def test_purge_command_defaults_to_purge_after_days(
    app: Flask,
    redis_client: redis.Redis,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str | None,
    removed: int,
) -> None:
    """Without the option the command uses COMMENTS_PURGE_AFTER_DAYS (30 by default)."""
    client = app.test_client()
    backdate(monkeypatch, 40)
    submit(client)
    backdate(monkeypatch, 10)
    submit(client)
    monkeypatch.setattr("service.comments.datetime", datetime)
    fresh = submit(client)
    if setting is not None:
        monkeypatch.setenv("COMMENTS_PURGE_AFTER_DAYS", setting)
    days = setting or "30"

    assert main(["purge"]) == 0
    assert capsys.readouterr().out == (
        f"Removed {removed} pending comment(s) older than {days} day(s).\n"
    )
    assert len(pending_ids(redis_client, key_prefix)) == 3 - removed
    assert fresh in pending_ids(redis_client, key_prefix)


def purge_together(hosts: list[Flask], batch: int) -> list[int]:
    """Start a purge of everything pending on each host at the same moment; give their counts."""
    barrier = threading.Barrier(len(hosts))
    totals: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(host: Flask) -> None:
        try:
            barrier.wait(timeout=10)
            count = purge(host, -1, batch=batch)
        except BaseException as error:  # reported below, in the test's thread
            with lock:
                failures.append(error)
            return
        with lock:
            totals.append(count)

    threads = [threading.Thread(target=run, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(totals) == len(hosts)
    return totals


@pytest.mark.parametrize("batch", [1, 4, 500])
def test_two_purges_at_once_remove_each_comment_once(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, batch: int
) -> None:
    """Two hosts purging together: every pending comment goes once and the counts add up."""
    hosts = [create_app(app_config(redis_url, key_prefix)) for _ in range(2)]
    client = hosts[0].test_client()
    pending = [submit(client) for _ in range(30)]
    approved = submit(client)
    decide(client, MODERATOR, approved, "approve")

    totals = purge_together(hosts, batch)
    assert sum(totals) == len(pending)
    assert pending_ids(redis_client, key_prefix) == set()
    for comment_id in pending:
        assert stored_traces(redis_client, key_prefix, comment_id) == []
    assert stored_traces(redis_client, key_prefix, approved) != []
    assert listing(client, ARTICLE)["count"] == 1
    assert purge_together(hosts, batch) == [0, 0]


def test_a_comment_approved_while_the_purge_runs_is_kept(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A moderator approving a listed comment before the purge reaches it keeps it published."""
    purging, moderating = (create_app(app_config(redis_url, key_prefix)) for _ in range(2))
    client = moderating.test_client()
    comment_id = submit(client)
    store = purging.extensions[EXTENSION].store
    locate_many = store.locate_many

    def approve_then_locate(comment_ids: list[str]) -> Any:
        # The moderator's decision lands between the purge's listing and its deletion.
        if comment_id in comment_ids:
            decide(client, MODERATOR, comment_id, "approve")
        return locate_many(comment_ids)

    monkeypatch.setattr(store, "locate_many", approve_then_locate)
    assert purge(purging, -1) == 0
    response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
    assert response.status_code == 200
    assert response.get_json()["status"] == "approved"
    assert [comment["id"] for comment in listing(client, ARTICLE)["comments"]] == [comment_id]


WXR_2014 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><item>
  <title>Old</title><wp:post_id>7</wp:post_id><wp:post_name>old-post</wp:post_name>
  <wp:comment>
    <wp:comment_id>1</wp:comment_id><wp:comment_author>Ann</wp:comment_author>
    <wp:comment_author_email>ann@example.com</wp:comment_author_email>
    <wp:comment_date_gmt>2014-03-01 10:00:00</wp:comment_date_gmt>
    <wp:comment_content>Still waiting since 2014.</wp:comment_content>
    <wp:comment_approved>0</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
</item></channel></rss>
"""


@pytest.mark.usefixtures("cli_env")
def test_an_imported_pending_comment_waits_from_its_import_not_its_date(
    app: Flask,
    redis_client: redis.Redis,
    key_prefix: str,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pending comment dated 2014 that came in today is not purged as 12 years stale; the
    import says what it did to the queue; one that waited its days here is purged."""
    export = tmp_path / "old.xml"
    export.write_text(WXR_2014)
    assert main(["import-wordpress", str(export)]) == 0
    output = capsys.readouterr().out
    assert (
        "1 pending comment(s) joined the moderation queue (purge counts their wait from now)"
        in (output)
    )
    [imported] = pending_ids(redis_client, key_prefix)
    assert int(imported[:12], 16) < datetime(2015, 1, 1).timestamp() * 1000

    assert main(["purge", "--older-than-days", "30"]) == 0
    assert "Removed 0 pending comment(s)" in capsys.readouterr().out
    assert pending_ids(redis_client, key_prefix) == {imported}

    backdate(monkeypatch, 40)
    stale = submit(app.test_client())
    assert purge(app, 30) == 1
    assert pending_ids(redis_client, key_prefix) == {imported}
    assert stored_traces(redis_client, key_prefix, stale) == []
    # Its wait is counted from the import: a cutoff after it removes it.
    assert purge(app, -1) == 1
    assert pending_ids(redis_client, key_prefix) == set()
