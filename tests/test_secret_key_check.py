"""One secret key per store: the maintenance commands find `make run`'s Redis and secret key in
var/, nothing writes with a secret key the data was not sealed with (a key check value in Redis),
and a record sealed with another key is shown without its private data, never a 500."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from service.cli import PROJECT_DIR, adopt_var_files, check_redis_or_exit, main
from service.keys import Keys
from service.privacy import Privacy
from tests.conftest import SECRET_KEY, ClientFactory
from tests.helpers import pending_ids, publish, reply, submit
from tests.test_cli import served  # noqa: F401  (a fixture)

MODERATOR = {"Authorization": "Bearer alice-token-0123456789"}
OTHER_SECRET = "another-secret-key-entirely-0123456789-abcdef"
WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>
  <title>T</title><wp:post_id>3</wp:post_id><wp:post_name>sealed</wp:post_name>
  <wp:comment>
    <wp:comment_id>1</wp:comment_id><wp:comment_author>Ann</wp:comment_author>
    <wp:comment_author_email>ann@example.com</wp:comment_author_email>
    <wp:comment_date_gmt>2020-03-01 10:00:00</wp:comment_date_gmt>
    <wp:comment_content>Hello</wp:comment_content>
    <wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
  </wp:comment>
</item></channel></rss>
"""


def one_line_exit(error: pytest.ExceptionInfo[SystemExit]) -> str:
    """Check a command ended with one line (no traceback); give it."""
    message = str(error.value.code)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.usefixtures("cli_env")
def test_the_first_write_seals_the_store_and_another_key_is_refused_in_one_line(
    client: FlaskClient,
    redis_client: redis.Redis,
    key_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = Keys(key_prefix)
    export = tmp_path / "export.xml"
    export.write_text(WXR)
    assert main(["import-wordpress", str(export)]) == 0
    assert redis_client.get(keys.key_check()) == Privacy(SECRET_KEY).key_check()
    capsys.readouterr()
    held = submit(client, "sealed")
    keys_before = sorted(redis_client.scan_iter(match=f"{key_prefix}:*"))

    monkeypatch.setenv("COMMENTS_SECRET_KEY", OTHER_SECRET)
    for command in (["import-wordpress", str(export)], ["purge", "--older-than-days", "0"]):
        with pytest.raises(SystemExit) as refused:
            main(command)
        message = one_line_exit(refused)
        assert message.startswith("news-comments: COMMENTS_SECRET_KEY is not the secret key")
        assert OTHER_SECRET not in message and SECRET_KEY not in message
    # gunicorn's start check (on_starting) refuses the same way, before any worker.
    with pytest.raises(SystemExit) as refused:
        check_redis_or_exit()
    assert "is not the secret key" in one_line_exit(refused)
    # Nothing was written or removed: the held comment still waits, the seal is unchanged.
    assert sorted(redis_client.scan_iter(match=f"{key_prefix}:*")) == keys_before
    assert pending_ids(redis_client, key_prefix) == [held["id"]]
    assert redis_client.get(keys.key_check()) == Privacy(SECRET_KEY).key_check()


@pytest.mark.usefixtures("cli_env")
def test_data_from_before_key_checks_is_never_sealed_with_a_key_that_cannot_open_it(
    client: FlaskClient,
    redis_client: redis.Redis,
    key_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = Keys(key_prefix)
    submit(client, "older-data")  # sealed with SECRET_KEY; the store has no key check yet
    export = tmp_path / "export.xml"
    export.write_text(WXR)
    monkeypatch.setenv("COMMENTS_SECRET_KEY", OTHER_SECRET)
    with pytest.raises(SystemExit) as refused:
        main(["import-wordpress", str(export)])
    assert "is not the secret key" in one_line_exit(refused)
    assert redis_client.get(keys.key_check()) is None
    assert len(pending_ids(redis_client, key_prefix)) == 1

    # A secret made up for one process (development, none configured) never seals a store.
    monkeypatch.delenv("COMMENTS_SECRET_KEY")
    monkeypatch.setenv("COMMENTS_KEY_PREFIX", f"{key_prefix}-fresh")
    assert main(["import-wordpress", str(export)]) == 0
    assert redis_client.get(Keys(f"{key_prefix}-fresh").key_check()) is None


def test_a_record_sealed_with_another_key_is_shown_without_its_private_data(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_client()
    comment = submit(writer, "two-keys", email="private@example.com")
    publish(writer, MODERATOR, "two-keys")
    blocked = writer.post(
        "/api/v1/moderation/blocks",
        json={"kind": "email", "value": "blocked@example.com"},
        headers=MODERATOR,
    )
    assert blocked.status_code == 200
    reader = make_client(secret_key=OTHER_SECRET)
    # Building an app sets the log handlers anew: listen again.
    logging.getLogger().addHandler(caplog.handler)

    with caplog.at_level(logging.WARNING):
        queue = reader.get("/api/v1/moderation/comments?status=pending", headers=MODERATOR)
        one = reader.get(f"/api/v1/moderation/comments/{comment['id']}", headers=MODERATOR)
        approved = reader.get("/api/v1/moderation/comments?status=approved", headers=MODERATOR)
        blocks = reader.get("/api/v1/moderation/blocks", headers=MODERATOR)
    assert [queue.status_code, one.status_code, approved.status_code] == [200, 200, 200]
    [item] = queue.get_json()["comments"]
    assert item["id"] == comment["id"] and item["body"] == comment["body"]
    assert item["private_unreadable"] is True
    assert item["email"] is None and item["ip"] is None and item["user_agent"] is None
    assert one.get_json()["private_unreadable"] is True
    assert blocks.status_code == 200 and blocks.get_json()["emails"] == []
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert f"comment {comment['id']}: its private data does not open with this secret key" in (
        warnings
    )
    assert not any("example.com" in warning for warning in warnings)
    # With the right key, the same record shows its private data and no flag.
    mine = writer.get(f"/api/v1/moderation/comments/{comment['id']}", headers=MODERATOR)
    assert mine.get_json()["email"] == "private@example.com"
    assert "private_unreadable" not in mine.get_json()


def test_var_files_stand_in_only_for_what_the_environment_does_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "redis_url").write_text("redis://127.0.0.1:6399/0\n")
    (var / "secret_key").write_text("from-var-0123456789-0123456789-0123\n")
    monkeypatch.setenv("REDIS_URL", "redis://set-by-hand:6379/0")
    monkeypatch.delenv("COMMENTS_SECRET_KEY", raising=False)
    assert adopt_var_files(var) == ["var/secret_key"]
    assert os.environ["REDIS_URL"] == "redis://set-by-hand:6379/0"
    assert os.environ["COMMENTS_SECRET_KEY"] == "from-var-0123456789-0123456789-0123"
    monkeypatch.delenv("REDIS_URL")
    assert adopt_var_files(var) == ["var/redis_url"]
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:6399/0"
    assert adopt_var_files(tmp_path / "nothing-here") == []


def run_command(var: Path, *arguments: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `news-comments` as a person in the checkout would: no REDIS_URL, no COMMENTS_*."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("COMMENTS_") and name != "REDIS_URL"
    }
    env.update(COMMENTS_VAR_DIR=str(var), **extra)
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *arguments],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_commands_find_make_runs_redis_and_secret(
    served: tuple[str, subprocess.Popen[bytes], Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    base, server, _ = served
    var = tmp_path / "var"
    url_file = var / "redis_url"
    assert stat.S_IMODE(url_file.stat().st_mode) == 0o600
    url = url_file.read_text().strip()
    assert url.startswith("redis://127.0.0.1:")

    posted = urllib.request.Request(
        f"{base}/api/v1/articles/first-hour/comments",
        data=json.dumps(reply(email="newcomer@example.com")).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(posted) as answer:
        assert answer.status == 202
        comment_id = json.load(answer)["comment"]["id"]

    exported = run_command(var, "export", "-")
    assert exported.returncode == 0, exported.stderr
    [line] = exported.stdout.splitlines()
    assert json.loads(line)["id"] == comment_id
    export_file = tmp_path / "export.jsonl"
    export_file.write_text(exported.stdout)

    # Importing it back, with the same secret, changes nothing and decrypts fine.
    again = run_command(var, "import", str(export_file))
    assert again.returncode == 0, again.stderr
    assert "Imported 0 comment(s); 1 already present; skipped 0." in again.stdout

    # A throwaway secret key is refused in one line, and writes nothing.
    with redis.Redis.from_url(url) as client:
        keys_before = sorted(client.scan_iter(match="comments:*"))
        wrong = run_command(var, "import", str(export_file), COMMENTS_SECRET_KEY=OTHER_SECRET)
        assert wrong.returncode == 1
        assert wrong.stderr.strip().count("\n") == 0
        assert "is not the secret key" in wrong.stderr and "Traceback" not in wrong.stderr
        assert sorted(client.scan_iter(match="comments:*")) == keys_before
        approved = run_command(var, "purge", "--older-than-days", "30")
        assert approved.returncode == 0, approved.stderr

    assert server.poll() is None
    server.terminate()
    assert server.wait(timeout=30) == 0
    # Stopped: the URL is gone, so no command reaches for a Redis that no longer runs.
    assert not url_file.exists()
