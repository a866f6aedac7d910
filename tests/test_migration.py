"""Moving comments in and out: JSON lines round trip, WordPress, Disqus and Isso imports."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service import EXTENSION, create_app, records
from service.cli import main
from service.keys import BUCKETS, Keys
from tests.conftest import ClientFactory, app_config, close_app
from tests.helpers import (
    approved_by_email,
    audit_entries,
    decide,
    listing,
    publish,
    stored_members,
    submit,
)

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
    make_client: ClientFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redis_client: Any,
    key_prefix: str,
) -> None:
    path = tmp_path / "export.xml"
    path.write_text(WXR)
    output = run(["import-wordpress", str(path)], capsys)
    assert "Imported 4 comment(s); 0 already present; skipped 0." in output
    assert "1 comment(s) with invalid email came in, never findable by email" in output

    client = make_client()
    items = by_name(moderation_items(client))
    assert items["Ann"]["status"] == "approved"
    assert items["Ann"]["email"] == "ann@example.com"
    assert items["Ann"]["ip"] == "192.0.2.1"
    assert items["Ann"]["website"] == "https://ann.example"
    assert items["Ann"]["created_at"] == "2020-03-01T10:00:00Z"
    assert items["Bob"]["parent_id"] == items["Ann"]["id"]
    assert items["Spammer"]["status"] == "spam"
    assert items["Nomail"]["status"] == "pending"
    assert not items["Nomail"]["email"]
    # Stored as the service stores its own: the decision time in seconds from the comment's
    # creation, the avatar seed derived from the email hash (kept only where there is none).
    ann = stored_members(redis_client, key_prefix, "p-7", items["Ann"]["id"])
    assert isinstance(ann["at"], int) and "v" not in ann
    assert items["Ann"]["decided_at"] == records.moment_of(items["Ann"]["id"], ann["at"])
    assert items["Ann"]["avatar"] == records.avatar_of(ann[records.EMAIL_HASH])
    nomail = stored_members(redis_client, key_prefix, "p-7", items["Nomail"]["id"])
    assert nomail["v"] == items["Nomail"]["avatar"] and records.EMAIL_HASH not in nomail
    page = listing(client, "p-7")
    assert page["count"] == 2
    [thread] = page["comments"]
    assert thread["name"] == "Ann"
    assert [reply["name"] for reply in thread["replies"]] == ["Bob"]
    assert thread["replies"][0]["created_at"] == "2020-03-01T11:00:00Z"

    again = run(["import-wordpress", str(path)], capsys)
    assert "Imported 0 comment(s); 4 already present" in again
    assert len(moderation_items(client)) == 4


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
    assert items["Cy"]["body"] == "Line one\nline two\n\nPara **two** & more"
    assert items["Cy"]["created_at"] == "2021-05-01T09:00:00Z"
    assert items["Cy"]["parent_id"] == items["Gone"]["id"]
    page = listing(client, "nato-talks")  # the thread's link
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


def test_json_lines_exported_with_hashes_in_hex_import_in_todays_forms(
    make_client: ClientFactory,
    key_prefix: str,
    redis_url: str,
    redis_client: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file exported before compact indexes (email hashes of 64 hex digits, fingerprints of
    32) imports, its hashes in today's shorter forms."""
    client = make_client()
    publish(client, MODERATOR, "hex", email="kim@example.com", body="Said once")
    before = moderation_items(client)
    export = tmp_path / "comments.jsonl"
    run(["export", str(export)], capsys)
    [line] = [json.loads(text) for text in export.read_text().splitlines()]
    email_hash = line["locator"][5]
    line["locator"][5] = base64.urlsafe_b64decode(email_hash + "==").hex() + "0" * 32
    line["locator"][6] = "ab" * 16
    export.write_text(json.dumps(line) + "\n")

    fresh = f"{key_prefix}-hex"
    monkeypatch.setenv("COMMENTS_KEY_PREFIX", fresh)
    assert "Imported 1 comment(s)" in run(["import", str(export)], capsys)
    copy_app = create_app(app_config(redis_url, fresh))
    try:
        assert moderation_items(copy_app.test_client()) == before
        [key] = redis_client.scan_iter(match=f"{fresh}:*:a:hex:comments")
        [raw] = redis_client.hvals(key)
        members = json.loads(raw)
        assert members["e"] == email_hash and len(members["f"]) == 16
    finally:
        for key in redis_client.scan_iter(match=f"{fresh}:*", count=1000):
            redis_client.delete(key)
        close_app(copy_app)


# --- Real export files other projects publish, and the general cases behind them -------------

REAL_EXPORTS = Path(__file__).parents[1].parent / "shared" / "real-exports"
needs_real_exports = pytest.mark.skipif(
    not REAL_EXPORTS.is_dir(), reason="../shared/real-exports is not on this machine"
)


def fail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line expecting status 1; give its one-line error."""
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def prefixed_keys(redis_client: Any, key_prefix: str) -> list[str]:
    return list(redis_client.scan_iter(match=f"{key_prefix}:*", count=1000))


@needs_real_exports
@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("command", "name", "imported", "skipped", "articles"),
    [
        ("import-wordpress", "wordpress/theme-unit-test-data.xml", 29, 4, None),
        ("import-wordpress", "wordpress/a11y-unit-test-data.xml", 25, 4, None),
        ("import-wordpress", "wordpress/small-export.xml", 1, 0, None),
        ("import-wordpress", "wordpress/valid-wxr-1.0.xml", 1, 0, None),
        ("import-wordpress", "wordpress/valid-wxr-1.1.xml", 1, 0, None),
        ("import-wordpress", "wordpress/slashes.xml", 1, 0, None),
        ("import-wordpress", "wordpress/wxr-with-sub-data.xml", 1, 0, {"p-101": 1}),
        ("import-wordpress", "wordpress/test-serialized-comment-meta.xml", 1, 0, None),
        ("import-wordpress", "isso/wordpress.xml", 8, 0, {"2014-test": 7, "p-4": 1}),
        ("import-disqus", "isso/disqus.xml", 5, 1, None),
        ("import-isso", "isso/isso-from-disqus.db", 5, 0, None),
        ("import-isso", "isso/isso-from-wordpress.db", 8, 0, {"2014-test": 7, "p-4": 1}),
        ("import-isso", "isso/isso-from-generic.db", 2, 0, {"posts-0001": 1, "posts-0007": 1}),
    ],
)
def test_every_real_export_comes_in_or_is_named_and_a_rerun_changes_nothing(
    make_client: ClientFactory,
    capsys: pytest.CaptureFixture[str],
    command: str,
    name: str,
    imported: int,
    skipped: int,
    articles: dict[str, int] | None,
) -> None:
    path = str(REAL_EXPORTS / name)
    output = run([command, path], capsys)
    assert f"Imported {imported} comment(s); 0 already present; skipped {skipped}." in output
    for line in output.splitlines():
        if line.strip().startswith("skipped "):
            assert "pingback" in line or "trackback" in line or "thread is not in the file" in line
    client = make_client()
    before = moderation_items(client)
    assert len(before) == imported
    assert all("<p>" not in item["body"] and "<a " not in item["body"] for item in before)
    for article_id, count in (articles or {}).items():
        assert len(moderation_items(client, article_id=article_id)) == count
    again = run([command, path], capsys)
    assert f"Imported 0 comment(s); {imported} already present; skipped {skipped}." in again
    assert moderation_items(client) == before


@needs_real_exports
@pytest.mark.usefixtures("cli_env")
def test_wordpress_theme_data_keeps_states_threads_and_names_pingbacks(
    make_client: ClientFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    output = run(
        ["import-wordpress", str(REAL_EXPORTS / "wordpress/theme-unit-test-data.xml")], capsys
    )
    for comment_id, kind in (("921", "trackback"), ("923", "pingback")):
        assert f"skipped wordpress comment {comment_id} (post 1149): a {kind}" in output
    client = make_client()
    items = moderation_items(client)
    states = [item["status"] for item in items]
    assert states.count("pending") == 3 and states.count("approved") == 26
    by_id = {item["id"]: item for item in items}

    def depth(item: dict[str, Any]) -> int:
        return 1 + (depth(by_id[item["parent_id"]]) if item.get("parent_id") else 0)

    deepest = next(item for item in items if item["body"].startswith("Comment Depth 10"))
    assert depth(deepest) == 10  # it hangs under nine ancestors, as in WordPress
    long_one = next(item for item in items if item["body"].startswith("**Headings**"))
    assert "> Stay hungry. Stay foolish." in long_one["body"]
    assert (
        "(https://developer.mozilla.org/en-US/docs/HTML/Element/blockquote#Notes)"
        in (long_one["body"])
    )
    assert "<h1>" not in long_one["body"]


@needs_real_exports
@pytest.mark.usefixtures("cli_env")
def test_isso_and_wordpress_exports_of_one_site_land_on_the_same_articles(
    make_client: ClientFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["import-wordpress", str(REAL_EXPORTS / "isso/wordpress.xml")], capsys)
    again = run(["import-isso", str(REAL_EXPORTS / "isso/isso-from-wordpress.db")], capsys)
    # The same comments land on the same article ids and are found as already there; Isso's
    # migration hung two replies one level up, so those two are other replies here.
    assert "Imported 2 comment(s); 6 already present" in again
    assert {item["article_id"] for item in moderation_items(make_client())} == {"2014-test", "p-4"}
    run(["import-disqus", str(REAL_EXPORTS / "isso/disqus.xml")], capsys)
    client = make_client()
    home = moderation_items(client, article_id="home")  # the thread at "http://example.org/"
    assert len(home) == 4
    deleted = next(item for item in home if item["status"] == "rejected")
    assert [item["parent_id"] for item in home if item.get("parent_id") == deleted["id"]]


@needs_real_exports
@pytest.mark.usefixtures("cli_env")
def test_comments_without_email_come_in_but_are_never_found_by_email(
    make_client: ClientFactory,
    redis_client: Any,
    key_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = run(["import-wordpress", str(REAL_EXPORTS / "wordpress/slashes.xml")], capsys)
    assert "Imported 1 comment(s)" in output
    client = make_client()
    [item] = moderation_items(client)
    assert item["name"] == "Mr WordPress" and not item["email"]
    assert item["body"] == "\\o/ ¯\\_(ツ)_/¯"
    assert listing(client, item["article_id"])["count"] == 1
    # Nothing is kept under an empty email hash: no email index, no approved count.
    keys = Keys(key_prefix)
    assert not any(redis_client.exists(keys.email_index(b, "")) for b in range(BUCKETS))
    assert "" not in approved_by_email(redis_client, key_prefix)


@needs_real_exports
@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("command", "name", "problem"),
    [
        ("import-wordpress", "isso/generic.json", "not a WordPress export (WXR): not XML"),
        ("import-wordpress", "isso/disqus.xml", "not a WordPress export (WXR): it starts with"),
        ("import-disqus", "wordpress/slashes.xml", "not a Disqus export: it starts with <rss>"),
        ("import-isso", "isso/wordpress.xml", "not an Isso database"),
        ("import-wordpress", "isso/isso-from-disqus.db", "not a WordPress export (WXR): not XML"),
    ],
)
def test_a_file_of_another_format_ends_in_one_line_and_status_1(
    capsys: pytest.CaptureFixture[str],
    redis_client: Any,
    key_prefix: str,
    command: str,
    name: str,
    problem: str,
) -> None:
    line = fail([command, str(REAL_EXPORTS / name)], capsys)
    assert line.startswith(f"news-comments: {REAL_EXPORTS / name}: {problem}")
    assert prefixed_keys(redis_client, key_prefix) == []


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("command", "content", "problem"),
    [
        ("import-wordpress", "<rss><channel><item><wp:comment>", "malformed XML"),
        ("import-wordpress", "", "not a WordPress export (WXR): not XML"),
        ("import-wordpress", "<rss><channel><item/></channel></rss>", "no comments found"),
        ("import-disqus", "<disqus><thread/></disqus>", "no comments found"),
        ("import-disqus", "<disqus><post><message>x", "malformed XML"),
        ("import-isso", "not a database at all, just text", "not an Isso database"),
    ],
)
def test_a_malformed_or_empty_file_ends_in_one_line_and_status_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redis_client: Any,
    key_prefix: str,
    command: str,
    content: str,
    problem: str,
) -> None:
    path = tmp_path / "export"
    path.write_text(content)
    line = fail([command, str(path)], capsys)
    assert line.startswith(f"news-comments: {path}: {problem}")
    assert prefixed_keys(redis_client, key_prefix) == []


def test_a_missing_file_or_a_bad_map_ends_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cli_env: None
) -> None:
    assert "no such file" in fail(["import-isso", str(tmp_path / "none.db")], capsys).lower()
    assert "No such file" in fail(["import-wordpress", str(tmp_path / "none.xml")], capsys)
    export = tmp_path / "export.xml"
    export.write_text(WXR)
    bad = tmp_path / "map.csv"
    bad.write_text("https://old.example/a/,not an id!\n")
    line = fail(["import-wordpress", "--map", str(bad), str(export)], capsys)
    assert f"{bad}: line 1: 'not an id!' is not a valid article id" in line


DISQUS_LOOSE = """<?xml version="1.0"?>
<disqus>
  <thread dsq:id="1" xmlns:dsq="http://disqus.com/disqus-internals">
    <id>legacy-identifier</id><link>https://news.example/2019/05/vote/?ref=home</link>
  </thread>
  <thread dsq:id="2" xmlns:dsq="http://disqus.com/disqus-internals">
    <link>https://news.example/gone/</link><isDeleted>true</isDeleted>
  </thread>
  <post dsq:id="10" xmlns:dsq="http://disqus.com/disqus-internals">
    <message><![CDATA[<p>See <a href="http://blogs.msdn.com/b/b8/archive/2011/08/29/improving.aspx"
      rel="nofollow">http://blogs.msdn.com/b/b8/...</a>, and <a href="javascript:alert(1)">this</a>
      <script>alert(1)</script></p><ul><li>one</li><li><em>two</em></li></ul>
      <blockquote>quoted</blockquote>]]></message>
    <createdAt>2019-05-01T08:00:00Z</createdAt><isDeleted>false</isDeleted><isSpam>false</isSpam>
    <author><name></name><username>social_login</username><isAnonymous>false</isAnonymous></author>
    <thread dsq:id="1"/>
  </post>
  <post dsq:id="11" xmlns:dsq="http://disqus.com/disqus-internals">
    <message>Buy pills</message><createdAt>2019-05-01T09:00:00Z</createdAt>
    <isDeleted>false</isDeleted><isSpam>true</isSpam>
    <author><name>Bot</name><email>bot@example.com</email></author><thread dsq:id="1"/>
  </post>
  <post dsq:id="12" xmlns:dsq="http://disqus.com/disqus-internals">
    <message>On a deleted thread</message><createdAt>2019-05-02T09:00:00Z</createdAt>
    <isDeleted>false</isDeleted><isSpam>false</isSpam>
    <author><name>Lee</name><email>lee@example.com</email></author><thread dsq:id="2"/>
  </post>
</disqus>
"""


@pytest.mark.usefixtures("cli_env")
def test_disqus_without_its_namespace_keeps_links_spam_and_deleted_threads(
    make_client: ClientFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "disqus.xml"
    path.write_text(DISQUS_LOOSE)
    output = run(["import-disqus", str(path)], capsys)
    assert "Imported 2 comment(s); 0 already present; skipped 1." in output
    assert "disqus post 12 (thread 2): its thread is deleted" in output
    client = make_client()
    items = by_name(moderation_items(client, article_id="2019-05-vote-ref-home"))
    assert items["Bot"]["status"] == "spam"
    reader = items["social_login"]
    assert reader["status"] == "approved" and not reader["email"]
    assert reader["body"] == (
        "See http://blogs.msdn.com/b/b8/archive/2011/08/29/improving.aspx, and this\n\n"
        "- one\n- *two*\n\n> quoted"
    )
    [published] = listing(client, "2019-05-vote-ref-home")["comments"]
    assert (
        'href="http://blogs.msdn.com/b/b8/archive/2011/08/29/improving.aspx"'
        in (published["body_html"])
    )
    assert "<script" not in published["body_html"] and "javascript:" not in published["body_html"]
    assert listing(client, "gone")["count"] == 0


@pytest.mark.usefixtures("cli_env")
def test_dry_run_counts_per_article_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], redis_client: Any, key_prefix: str
) -> None:
    path = tmp_path / "disqus.xml"
    path.write_text(DISQUS_LOOSE)
    output = run(["import-disqus", "--dry-run", str(path)], capsys)
    assert "Would import 2 comment(s); 0 already present; skipped 1." in output
    assert (
        "  2019-05-vote-ref-home <- https://news.example/2019/05/vote/?ref=home: "
        "2 would come in, 0 already present, 0 skipped"
    ) in output
    assert (
        "  gone <- https://news.example/gone/: 0 would come in, 0 already present, 1 skipped"
        in (output)
    )
    assert "skipped disqus post 12 (thread 2): its thread is deleted" in output
    assert prefixed_keys(redis_client, key_prefix) == []


@pytest.mark.usefixtures("cli_env")
def test_a_map_gives_the_sites_own_article_ids(
    make_client: ClientFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "disqus.xml"
    path.write_text(DISQUS_LOOSE)
    mapping = tmp_path / "map.csv"
    mapping.write_text("source,article_id\n/2019/05/vote/?ref=home,story-4711\n")
    output = run(["import-disqus", "--map", str(mapping), str(path)], capsys)
    assert "Imported 2 comment(s)" in output
    client = make_client()
    assert len(moderation_items(client, article_id="story-4711")) == 2
    assert listing(client, "story-4711")["count"] == 1


@pytest.mark.parametrize(
    ("address", "article_id"),
    [
        ("hello-world", "hello-world"),
        ("/", "home"),
        ("https://news.example/", "home"),
        ("/?p=4", "p-4"),
        ("?p=4", "p-4"),
        ("http://example.tld/?p=4", "p-4"),
        ("http://example.tld/2014/test/", "2014-test"),
        ("/2014/test/#comments", "2014-test"),
        ("node:12", "node:12"),
        ("/blog/index.html", "blog-index.html"),
    ],
)
def test_article_ids_follow_one_rule(address: str, article_id: str) -> None:
    from service.migration.addresses import article_id_from

    assert article_id_from(address) == article_id


def test_article_ids_never_merge_two_addresses_and_are_always_valid() -> None:
    import re

    from service.migration.addresses import article_id_from
    from service.schemas import ARTICLE_ID_PATTERN

    addresses = [
        "/caf%C3%A9/", "/café/", "/cafe/", "/a b/", "/a-b/", "/../", "/%2F/", "/日本語/",
        "http://example.com/" + "long-segment/" * 30, "/?s=ünïcode&x=1", "mailto:x@y", "-",
    ]  # fmt: skip
    ids = [article_id_from(address) for address in addresses]
    for article_id in ids:
        assert re.fullmatch(ARTICLE_ID_PATTERN, article_id) and len(article_id) <= 100
    assert ids[0] == ids[1]  # the same address, encoded or not
    assert len(set(ids[1:])) == len(ids) - 1
    assert article_id_from("/日本語/") == article_id_from("/日本語/")


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two<br>lines</p>", "One\n\nTwo\nlines"),
        ("Plain\n\ntext with a\nbreak", "Plain\n\ntext with a\nbreak"),
        ('<a href="https://x.example/a">words</a>.', "words (https://x.example/a)."),
        ('<a href="https://x.example/a/b/c">https://x.example/a...</a>', "https://x.example/a/b/c"),
        ('<a href="javascript:evil()">click</a>', "click"),
        ("<ol><li>a</li><li>b</li></ol>", "1. a\n2. b"),
        ("<blockquote><p>q1</p><p>q2</p></blockquote>", "> q1\n>\n> q2"),
        ("<strong>bold</strong> <em>it</em> <code>x()</code>", "**bold** *it* `x()`"),
        ("<script>alert(1)</script><style>p{}</style>kept", "kept"),
        ("a &lt;b&gt; &amp; c", "a <b> & c"),
        ("<p>unclosed <b>tags", "unclosed **tags**"),
        ('<img src="https://x.example/i.png" alt="A cat">', "A cat (https://x.example/i.png)"),
    ],
)
def test_comment_html_becomes_the_services_text(html: str, text: str) -> None:
    from service.migration.html_text import html_to_text

    assert html_to_text(html) == text


UNPUBLISHED_PARENTS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><item>
  <title>Hot</title><wp:post_id>9</wp:post_id><wp:post_name>hot</wp:post_name>
  <wp:comment>
    <wp:comment_id>1</wp:comment_id><wp:comment_author>Spammer</wp:comment_author>
    <wp:comment_author_email>spam@example.com</wp:comment_author_email>
    <wp:comment_date_gmt>2020-03-01 10:00:00</wp:comment_date_gmt>
    <wp:comment_content>Buy now</wp:comment_content>
    <wp:comment_approved>spam</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>2</wp:comment_id><wp:comment_author>Dee</wp:comment_author>
    <wp:comment_author_email>dee@example.com</wp:comment_author_email>
    <wp:comment_date_gmt>2020-03-01 11:00:00</wp:comment_date_gmt>
    <wp:comment_content>Do not click that.</wp:comment_content>
    <wp:comment_approved>1</wp:comment_approved><wp:comment_parent>1</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>3</wp:comment_id><wp:comment_author>Eve</wp:comment_author>
    <wp:comment_author_email>eve@example.com</wp:comment_author_email>
    <wp:comment_date_gmt>2020-03-01 12:00:00</wp:comment_date_gmt>
    <wp:comment_content>Still waiting</wp:comment_content>
    <wp:comment_approved>0</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
  <wp:comment>
    <wp:comment_id>4</wp:comment_id><wp:comment_author>Fay</wp:comment_author>
    <wp:comment_author_email>fay@example.com</wp:comment_author_email>
    <wp:comment_date_gmt>2020-03-01 13:00:00</wp:comment_date_gmt>
    <wp:comment_content>Answering Eve</wp:comment_content>
    <wp:comment_approved>1</wp:comment_approved><wp:comment_parent>3</wp:comment_parent>
  </wp:comment>
</item></channel></rss>
"""


@pytest.mark.usefixtures("cli_env")
def test_unpublished_parents_are_never_published_by_an_import(
    make_client: ClientFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redis_client: Any,
    key_prefix: str,
) -> None:
    """Each comment comes in in its own state, never approved for a moment to carry its
    replies: no approval reaches the audit log, and the published list shows a spam or pending
    parent only as a placeholder over its published reply."""
    path = tmp_path / "hot.xml"
    path.write_text(UNPUBLISHED_PARENTS)
    assert "Imported 4 comment(s)" in run(["import-wordpress", str(path)], capsys)
    client = make_client()
    items = by_name(moderation_items(client))
    assert {name: item["status"] for name, item in items.items()} == {
        "Spammer": "spam", "Dee": "approved", "Eve": "pending", "Fay": "approved",
    }  # fmt: skip
    assert items["Dee"]["parent_id"] == items["Spammer"]["id"]
    assert items["Fay"]["parent_id"] == items["Eve"]["id"]
    page = listing(client, items["Dee"]["article_id"])
    assert page["count"] == 2
    threads = {thread["id"]: thread for thread in page["comments"]}
    for parent, reply in (("Spammer", "Dee"), ("Eve", "Fay")):
        thread = threads[items[parent]["id"]]
        assert thread["removed"] is True and thread["name"] is None and thread["body"] is None
        assert [item["name"] for item in thread["replies"]] == [reply]
    assert not [
        entry for entry in audit_entries(redis_client, key_prefix) if entry[1].get("action")
    ]
