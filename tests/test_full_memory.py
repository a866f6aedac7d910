"""Reads under a full Redis: with `maxmemory` reached and `noeviction`, Redis refuses every command
that may add data (and, on Redis 7.0, a MULTI holding one, and a script without flags that
writes), so every read path must use plain reads only. Run on the embedded Valkey and, where it
is installed, on Debian's Redis 7.0 (`redis-server` on PATH)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from service import create_app
from service.cli import redis_executable
from tests.conftest import TOPOLOGY, app_config, close_app
from tests.helpers import decide, publish, reply, submit
from tests.servers import free_port, wait_until

MODERATOR = {"Authorization": "Bearer alice-token-0123456789"}
FILLER = b"x" * 65536

pytestmark = pytest.mark.skipif(
    TOPOLOGY == "cluster", reason="starts servers of its own, the same in either run"
)


def _servers() -> list[object]:
    debian = shutil.which("redis-server")
    return [
        pytest.param(redis_executable(), id="embedded"),
        pytest.param(
            debian,
            id="redis-server-on-path",
            marks=pytest.mark.skipif(
                debian is None, reason="no redis-server on PATH (Debian's Redis 7.0)"
            ),
        ),
    ]


@pytest.fixture(params=_servers())
def full_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Start a server of the given executable, with no persistence and noeviction; give its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(request.param),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(tmp_path / "server.log"),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        with redis.Redis.from_url(url) as probe:
            wait_until(lambda: bool(probe.ping()), 20, "the server to answer")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def fill(client: redis.Redis) -> int:
    """Cap the server's memory a little above what it uses and write filler until it refuses
    with OOM; then lower the cap under what it holds, so that no buffer freed since (the
    refused command's own) makes room for a small write. Give how many fillers went in."""
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used + 4 * 1024 * 1024)
    for count in range(10_000):
        try:
            client.set(f"filler:{count}", FILLER)
        except redis.exceptions.OutOfMemoryError:
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory", used - 1024 * 1024)
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                client.set("one-more", "x")
            return count
    raise AssertionError("the server never refused a write")


def reads(client: FlaskClient, article_id: str, comment_id: str) -> dict[str, int]:
    """Every read path readers, moderators and orchestrators use; give each one's status."""
    paths = {
        "list": f"/api/v1/articles/{article_id}/comments",
        "newest": f"/api/v1/articles/{article_id}/comments?sort=newest",
        "one": f"/api/v1/articles/{article_id}/comments/{comment_id}",
        "counts": f"/api/v1/counts?article_id={article_id}&article_id=other",
        "page": f"/articles/{article_id}/comments",
        "queue": "/api/v1/moderation/comments?status=pending",
        "approved": f"/api/v1/moderation/comments?status=approved&article_id={article_id}",
        "search": "/api/v1/moderation/comments?status=pending&q=Comment",
        "item": f"/api/v1/moderation/comments/{comment_id}",
        "stats": "/api/v1/moderation/stats",
        "audit": "/api/v1/moderation/audit",
        "articles": "/api/v1/moderation/articles",
        "blocks": "/api/v1/moderation/blocks",
        "readyz": "/readyz",
    }
    return {name: client.get(path, headers=MODERATOR).status_code for name, path in paths.items()}


def test_reads_answer_while_redis_is_full_and_writes_are_refused(full_server: str) -> None:
    # Wrong-token slowing and rate limits on, as deployed: their checks run on every request.
    app = create_app(
        app_config(full_server, "full", durability="none", rate_limits="50/minute;500/hour")
    )
    client = app.test_client()
    try:
        comment = publish(client, MODERATOR, "full-article")
        reply_id = submit(client, "full-article", parent_id=comment["id"])["id"]
        decide(client, MODERATOR, reply_id, "approve")
        held = submit(client, "full-article")
        before = reads(client, "full-article", comment["id"])
        assert set(before.values()) == {200}, before

        raw = redis.Redis.from_url(full_server)
        assert fill(raw) > 0
        assert raw.info("memory")["maxmemory_policy"] == "noeviction"
        keys_before = raw.dbsize()

        # A fresh worker: nothing cached in this process, every read goes to Redis.
        close_app(app)
        app = create_app(
            app_config(full_server, "full", durability="none", rate_limits="50/minute;500/hour")
        )
        client = app.test_client()
        during = reads(client, "full-article", comment["id"])
        assert during == before
        listed = client.get("/api/v1/articles/full-article/comments").get_json()
        assert listed["count"] == 2

        refused = client.post("/api/v1/articles/full-article/comments", json=reply())
        assert refused.status_code == 503
        body = refused.get_json()
        assert body["code"] == 503 and body["status"] == "Service Unavailable"
        assert "Retry-After" in refused.headers
        blocked = client.post(
            "/api/v1/moderation/blocks",
            json={"kind": "domain", "value": "spam.example"},
            headers=MODERATOR,
        )
        assert blocked.status_code == 503 and blocked.get_json()["code"] == 503
        # Nothing half stored: the refused writes added no key, the held comment still waits.
        assert raw.dbsize() == keys_before
        queue = client.get("/api/v1/moderation/comments?status=pending", headers=MODERATOR)
        assert [item["id"] for item in queue.get_json()["comments"]] == [held["id"]]
        raw.close()
    finally:
        close_app(app)
