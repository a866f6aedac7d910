"""Moving comments in and out: JSON lines round trip, WordPress, Disqus and Isso imports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service import EXTENSION, create_app
from service.cli import main
from tests.conftest import ClientFactory, app_config, close_app
from tests.helpers import decide, listing, publish, submit

MODERATOR = {"Authorization": "Bearer alice-token-0123456789"}
STATES = ("pending", "approved", "rejected", "spam")

WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><item>
  <title>Hello</title><wp:post_id>7</wp:post_id><wp:post_name>hello-world</wp:post_name>
  <wp:comment>
    <wp:comment_id>1</wp:comment_id><wp:comment_author>Ann</wp:comment_author>
    <wp:comment_author_email>ann@example.com</wp:comment_author_email>
    <wp:comment_author_url>https://ann.example</wp:comment_author_url>
    <wp:comment_author_IP>192.0.2.1</wp:comment_author_IP>
    <wp:comment_date_gmt>2020-03-01 10:00:00</wp:comment_date_gmt>
    <wp:comment_content>First!</wp:comment_content>
    <wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>2</wp:comment_id><wp:comment_author>Bob</wp:comment_author>
    <wp:comment_author_email>bob@example.com</wp:comment_author_email>
    <wp:comment_author_IP>192.0.2.2</wp:comment_author_IP>
    <wp:comment_date_gmt>2020-03-01 11:00:00</wp:comment_date_gmt>
    <wp:comment_content>A reply.</wp:comment_content>
    <wp:comment_approved>1</wp:comment_approved><wp:comment_parent>1</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>3</wp:comment_id><wp:comment_author>Spammer</wp:comment_author>
    <wp:comment_author_email>spam@example.com</wp:comment_author_email>
    <wp:comment_date_gmt>2020-03-02 09:00:00</wp:comment_date_gmt>
    <wp:comment_content>Buy now</wp:comment_content>
    <wp:comment_approved>spam</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>4</wp:comment_id><wp:comment_author>Nomail</wp:comment_author>
    <wp:comment_author_email>not-an-email</wp:comment_author_email>
    <wp:comment_date_gmt>2020-03-02 09:30:00</wp:comment_date_gmt>
    <wp:comment_content>Lost</wp:comment_content>
    <wp:comment_approved>0</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
</item></channel></rss>
"""

DISQUS = """<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
  <thread dsq:id="100"><id>nato-talks</id><link>https://news.example/nato-talks</link></thread>
  <post dsq:id="1">
    <message><![CDATA[<p>Deleted but answered</p>]]></message>
    <createdAt>2021-05-01T08:00:00Z</createdAt><isDeleted>true</isDeleted><isSpam>false</isSpam>
    <author><name>Gone</name><email></email></author><thread dsq:id="100"/>
  </post>
  <post dsq:id="2">
    <message><![CDATA[<p>Line one<br>line two</p><p>Para <b>two</b> &amp; more</p>]]></message>
    <createdAt>2021-05-01T09:00:00Z</createdAt><isDeleted>false</isDeleted><isSpam>false</isSpam>
    <author><name>Cy</name><email>cy@example.com</email></author>
    <thread dsq:id="100"/><parent dsq:id="1"/>
  </post>
  <post dsq:id="3">
    <message><![CDATA[<p>Deleted, alone</p>]]></message>
    <createdAt>2021-05-01T10:00:00Z</createdAt><isDeleted>true</isDeleted><isSpam>false</isSpam>
    <author><name>Di</name><email>di@example.com</email></author><thread dsq:id="100"/>
  </post>
</disqus>
"""


def moderation_items(client: FlaskClient, **query: Any) -> list[dict[str, Any]]:
    """Every comment the moderation API lists, in all four states."""
    items: list[dict[str, Any]] = []
    for status in STATES:
        answer = client.get(
            "/api/v1/moderation/comments",
            headers=MODERATOR,
            query_string={"status": status, "limit": 200, **query},
        )
        assert answer.status_code == 200, answer.get_json()
        items += answer.get_json()["comments"]
    return sorted(items, key=lambda item: str(item["id"]))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line and give what it printed."""
    assert main(argv) == 0
    return capsys.readouterr().out


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


@pytest.mark.usefixtures("cli_env")
def test_wordpress_import_keeps_threads_dates_states_and_email(
    make_client: ClientFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.xml"
    path.write_text(WXR)
    output = run(["import-wordpress", str(path)], capsys)
    assert "Imported 3 comment(s); 0 already present; skipped 1." in output
    assert "wordpress comment 7:4: invalid email" in output

    client = make_client()
    items = by_name(moderation_items(client))
    assert items["Ann"]["status"] == "approved"
    assert items["Ann"]["email"] == "ann@example.com"
    assert items["Ann"]["ip"] == "192.0.2.1"
    assert items["Ann"]["website"] == "https://ann.example"
    assert items["Ann"]["created_at"] == "2020-03-01T10:00:00Z"
    assert items["Bob"]["parent_id"] == items["Ann"]["id"]
    assert items["Spammer"]["status"] == "spam"
    page = listing(client, "hello-world")
    assert page["count"] == 2
    [thread] = page["comments"]
    assert thread["name"] == "Ann"
    assert [reply["name"] for reply in thread["replies"]] == ["Bob"]
    assert thread["replies"][0]["created_at"] == "2020-03-01T11:00:00Z"

    again = run(["import-wordpress", str(path)], capsys)
    assert "Imported 0 comment(s); 3 already present" in again
    assert len(moderation_items(client)) == 3


@pytest.mark.usefixtures("cli_env")
def test_disqus_import_keeps_a_deleted_parent_as_rejected(
    make_client: ClientFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "disqus.xml"
    path.write_text(DISQUS)
    output = run(["import-disqus", str(path)], capsys)
    assert "Imported 2 comment(s)" in output
    assert "disqus comment 3: deleted" in output

    client = make_client()
    items = by_name(moderation_items(client))
    assert set(items) == {"Gone", "Cy"}
    assert items["Gone"]["status"] == "rejected"
    assert items["Cy"]["status"] == "approved"
    assert items["Cy"]["email"] == "cy@example.com"
    assert items["Cy"]["body"] == "Line one\nline two\n\nPara two & more"
    assert items["Cy"]["created_at"] == "2021-05-01T09:00:00Z"
    assert items["Cy"]["parent_id"] == items["Gone"]["id"]
    page = listing(client, "nato-talks")
    assert page["count"] == 1
    [placeholder] = page["comments"]
    assert placeholder["removed"] is True
    assert [reply["name"] for reply in placeholder["replies"]] == ["Cy"]


@pytest.mark.usefixtures("cli_env")
def test_isso_import(
    make_client: ClientFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "comments.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR, title VARCHAR)")
        db.execute(
            "CREATE TABLE comments (tid REFERENCES threads(id), id INTEGER PRIMARY KEY,"
            " parent INTEGER, created FLOAT NOT NULL, modified FLOAT, mode INTEGER,"
            " remote_addr VARCHAR, text VARCHAR, author VARCHAR, email VARCHAR,"
            " website VARCHAR, likes INTEGER, dislikes INTEGER, voters BLOB, notification INTEGER)"
        )
        db.execute("INSERT INTO threads VALUES (1, '/2022/budget-vote/', 'Budget')")
        rows = [
            (1, 1, None, 1650000000.5, 1, "198.51.100.1", "Top", "Eve", "eve@example.com", None),
            (1, 2, 1, 1650000100.0, 2, "198.51.100.2", "Held reply", "Fay", "fay@example.com", ""),
            (1, 3, None, 1650000200.0, 4, "", "", None, None, None),
        ]
        db.executemany(
            "INSERT INTO comments (tid, id, parent, created, mode, remote_addr, text, author,"
            " email, website) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    output = run(["import-isso", str(path)], capsys)
    assert "Imported 2 comment(s)" in output
    assert "isso comment 3: deleted" in output

    client = make_client()
    items = by_name(moderation_items(client, article_id="2022-budget-vote"))
    assert items["Eve"]["status"] == "approved"
    assert items["Eve"]["created_at"] == "2022-04-15T05:20:00Z"
    assert items["Fay"]["status"] == "pending"
    assert items["Fay"]["parent_id"] == items["Eve"]["id"]
    assert items["Fay"]["email"] == "fay@example.com"
    assert listing(client, "2022-budget-vote")["count"] == 1


def test_json_lines_round_trip_into_a_fresh_prefix(
    make_client: ClientFactory,
    key_prefix: str,
    redis_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = make_client()
    root = publish(client, MODERATOR, "roundtrip", email="root@example.com")
    child = publish(client, MODERATOR, "roundtrip", parent_id=root["id"])
    grandchild = submit(client, "roundtrip", parent_id=child["id"])
    decide(client, MODERATOR, child["id"], "reject", reason="off topic")
    decide(client, MODERATOR, grandchild["id"], "spam")
    other = publish(client, MODERATOR, "other")
    held = submit(client, "other", parent_id=other["id"])
    edited = client.post(
        f"/api/v1/moderation/comments/{other['id']}/edit", headers=MODERATOR, json={"body": "New"}
    )
    assert edited.status_code == 200, edited.get_json()
    before = moderation_items(client)
    assert {item["id"] for item in before} == {
        root["id"], child["id"], grandchild["id"], other["id"], held["id"]
    }  # fmt: skip
    lists = {article: listing(client, article) for article in ("roundtrip", "other")}

    export = tmp_path / "comments.jsonl"
    run(["export", str(export)], capsys)
    text = export.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 5
    assert "root@example.com" not in text and "@example.com" not in text

    fresh = f"{key_prefix}-copy"
    monkeypatch.setenv("COMMENTS_KEY_PREFIX", fresh)
    output = run(["import", str(export)], capsys)
    assert "Imported 5 comment(s); 0 already present; skipped 0." in output
    copy_app = create_app(app_config(redis_url, fresh))
    copy = copy_app.test_client()
    try:
        assert moderation_items(copy) == before
        for article, page in lists.items():
            assert listing(copy, article) == page
        revisions = copy.get(f"/api/v1/moderation/comments/{other['id']}", headers=MODERATOR)
        original = client.get(f"/api/v1/moderation/comments/{other['id']}", headers=MODERATOR)
        assert revisions.get_json() == original.get_json()
        assert "Imported 0 comment(s); 5 already present" in run(["import", str(export)], capsys)
        assert moderation_items(copy) == before
    finally:
        store = copy_app.extensions[EXTENSION].store
        for key in store.client.scan_iter(match=f"{fresh}:*", count=1000):
            store.client.delete(key)
        close_app(copy_app)
