"""`news-comments import` of a JSON-lines file trusts nothing in it: every field is checked as the
API checks it, and whatever derives from other fields (the text's HTML above all) is rebuilt, so
a file made or edited by hand cannot put markup on the site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.cli import main
from service.keys import Keys
from service.models import Status
from service.topology import RedisClient
from tests.helpers import decide, listing, publish, stored_fields, stored_ids, submit

MODERATOR = {"Authorization": "Bearer alice-token-0123456789"}
PAYLOAD = '<img src=x onerror="alert(document.cookie)">'


def export_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Export what the test's prefix holds; give the objects."""
    path = tmp_path / "export.jsonl"
    assert main(["export", str(path)]) == 0
    capsys.readouterr()
    return [json.loads(line) for line in path.read_text().splitlines()]


def import_lines(
    tmp_path: Path, objects: list[Any], capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """Import objects as a JSON-lines file; give the report's lines."""
    path = tmp_path / "import.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in objects))
    assert main(["import", str(path)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.out.splitlines()


def wipe(redis_client: RedisClient, key_prefix: str) -> None:
    for key in list(redis_client.scan_iter(match=f"{key_prefix}:*", count=1000)):
        redis_client.delete(key)


def changed(base: dict[str, Any], comment_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A copy of an export object with some record fields replaced (None removes one)."""
    item = json.loads(json.dumps(base))
    record = item["record"]
    for name, value in fields.items():
        if value is None:
            record.pop(name, None)
        else:
            record[name] = value
    if comment_id is not None:
        item["id"] = record["id"] = comment_id
    return item


@pytest.mark.usefixtures("cli_env")
def test_a_hand_made_file_cannot_put_markup_or_a_script_link_on_the_site(
    client: FlaskClient,
    redis_client: RedisClient,
    key_prefix: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    comment = publish(client, MODERATOR, "xss-article", website="https://ann.example")
    [exported] = export_lines(tmp_path, capsys)
    wipe(redis_client, key_prefix)

    tampered = changed(
        exported,
        body="Hello <b>there</b>",
        body_html=f"<p>{PAYLOAD}</p>",
        website="javascript:alert(1)",
        depth='1"><script>',
        created_at="<script>",
    )
    lines = import_lines(tmp_path, [tampered], capsys)
    assert lines[0] == "Imported 1 comment(s); 0 already present; skipped 0."
    assert "  1 website(s) that are not http(s) addresses were left out" in lines

    stored = stored_fields(redis_client, key_prefix, "xss-article", comment["id"])
    assert stored["body_html"] == "<p>Hello &lt;b&gt;there&lt;/b&gt;</p>"
    assert "website" not in stored
    assert stored["depth"] == "1"
    assert stored["created_at"] == comment["created_at"]
    [shown] = listing(client, "xss-article")["comments"]
    assert shown["body_html"] == "<p>Hello &lt;b&gt;there&lt;/b&gt;</p>"
    assert shown["website"] is None
    page = client.get("/articles/xss-article/comments")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "onerror" not in html and "javascript:" not in html
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in html


@pytest.mark.usefixtures("cli_env")
def test_every_field_is_checked_as_the_api_checks_it(
    client: FlaskClient,
    redis_client: RedisClient,
    key_prefix: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = publish(client, MODERATOR, "checked-article")
    reply = submit(client, "checked-article", parent_id=root["id"])
    decide(client, MODERATOR, reply["id"], "reject")
    exported = {item["id"]: item for item in export_lines(tmp_path, capsys)}
    base = exported[root["id"]]
    wipe(redis_client, key_prefix)

    prefix = root["id"][:14]
    bad = {
        "bad article id": changed(base, prefix + "0000000001", article_id="../../etc"),
        "invisible name": changed(base, prefix + "0000000002", name="\u3164"),
        "bidi override in the text": changed(base, prefix + "0000000003", body="a \u202e b"),
        "unknown state": changed(base, prefix + "0000000004", status="published"),
        "unknown field": changed(base, prefix + "0000000005", onclick="alert(1)"),
        "not a comment id": changed(base, "<script>alert(1)</script>"),
        "empty text": changed(base, prefix + "0000000006", body="   "),
        "id of another bucket": changed(base, root["id"][:12] + "ff" + "0000000007"),
        "a name too long": changed(base, prefix + "0000000008", name="n" * 101),
        "a bad decision time": changed(base, prefix + "0000000009", decided_at="yesterday"),
    }
    unopenable = changed(base, prefix + "000000000a")
    unopenable["private"] = "gAAAAAB-not-a-token"
    orphan = json.loads(json.dumps(exported[reply["id"]]))
    orphan["record"]["parent_id"] = orphan["locator"][3] = prefix + "000000000b"
    objects = [*bad.values(), unopenable, orphan, "just a string", exported[root["id"]]]

    lines = import_lines(tmp_path, objects, capsys)
    assert lines[0] == f"Imported 1 comment(s); 0 already present; skipped {len(objects) - 1}."
    skipped = [line for line in lines if line.startswith("  skipped ")]
    assert len(skipped) == len(objects) - 1
    report = "\n".join(lines)
    assert "article_id" in report and "name" in report and "status" in report
    assert "onclick: Unknown field." in report
    assert "does not open with this secret key" in report
    assert "is not in the file" in report
    assert "does not name its article's bucket" in report
    assert "<script>" not in report

    keys = Keys(key_prefix)
    assert stored_ids(redis_client, key_prefix) == [root["id"]]
    assert redis_client.zrange(keys.article_status("checked-article", Status.APPROVED), 0, -1) == [
        root["id"]
    ]


def test_the_page_without_javascript_links_only_http_websites(
    client: FlaskClient, redis_client: RedisClient, key_prefix: str
) -> None:
    """A record written before imports were checked may hold any website: it is never a link."""
    comment = publish(client, MODERATOR, "old-record", website="https://ann.example")
    key = Keys(key_prefix).comments("old-record")
    page = client.get("/articles/old-record/comments").get_data(as_text=True)
    assert 'href="https://ann.example"' in page

    record = json.loads(redis_client.hget(key, comment["id"]))
    redis_client.hset(key, comment["id"], json.dumps(record | {"w": "javascript:alert(1)"}))
    redis_client.set(Keys(key_prefix).version("old-record"), "changed")
    page = client.get("/articles/old-record/comments").get_data(as_text=True)
    assert "javascript:" not in page
    assert '<span class="comment-author">Ann Reader</span>' in page
