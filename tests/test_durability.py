"""Acknowledged comments survive Redis being killed; full memory refuses writes, not reads."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from port_for import get_port
from pytest_redis.executor import RedisExecutor

from service import create_app, records
from service.durability import WAIT_TIMEOUT_MS
from tests.conftest import (
    app_config,
    close_app,
    start_gunicorn,
    start_private_redis,
    stop_gunicorn,
    wait_until_answers,
)
from tests.helpers import located, pending_ids, reply, stored_fields, stored_ids, stored_members
from tests.servers import wait_until

URL = "/api/v1/articles/article-1/comments"


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisExecutor]:
    """A Redis of the test's own with the append-only file on, as deployed."""
    executor = start_private_redis(tmp_path, appendonly="yes")
    redis.Redis(host=executor.host, port=executor.port).config_set("appendfsync", "always")
    yield executor
    if executor.running():
        executor.stop()


def url_of(executor: RedisExecutor) -> str:
    return f"redis://{executor.host}:{executor.port}/0"


def test_acknowledged_submissions_survive_sigkill(aof_redis: RedisExecutor) -> None:
    app = create_app(app_config(url_of(aof_redis), "durable", moderation_mode="trusted"))
    client = app.test_client()
    acknowledged = []
    for number in range(25):
        response = client.post(URL, json=reply(body=f"Kept {number}"))
        assert response.status_code == 202
        acknowledged.append(response.get_json()["comment"]["id"])
    raw = redis.Redis.from_url(url_of(aof_redis), decode_responses=True)
    version = tuple(int(part) for part in str(raw.info("server")["redis_version"]).split(".")[:2])
    has_waitaof = version >= (7, 2)
    # With WAITAOF (Redis or Valkey 7.2+) each answer waited for the disk; older servers rely on
    # appendfsync always alone.
    writes = app.extensions["news_comments"].store.writes
    assert writes._wait == (("WAITAOF", 1, 0, WAIT_TIMEOUT_MS) if has_waitaof else None)

    aof_redis.kill(wait=True, sig=signal.SIGKILL)
    aof_redis.start()
    loaded(raw)
    assert pending_ids(raw, "durable") == acknowledged
    close_app(app)
    raw.close()


def loaded(raw: redis.Redis) -> None:
    """Wait until a restarted server has read its append-only file back (until then it answers
    LOADING)."""
    wait_until(lambda: int(raw.dbsize()) >= 0, 30, "the server to load its data")


def test_redis_restarted_between_submit_and_approve(aof_redis: RedisExecutor) -> None:
    app = create_app(app_config(url_of(aof_redis), "restart"))
    client = app.test_client()
    comment_id = client.post(URL, json=reply()).get_json()["comment"]["id"]
    aof_redis.stop()
    aof_redis.start()
    loaded(redis.Redis.from_url(url_of(aof_redis)))
    headers = {"Authorization": "Bearer alice-token-0123456789"}
    approved = client.post(f"/api/v1/moderation/comments/{comment_id}/approve", headers=headers)
    assert approved.status_code == 200
    assert client.get(URL).get_json()["count"] == 1
    close_app(app)


def test_scripts_travel_by_their_sha_and_come_back_after_a_flush(
    aof_redis: RedisExecutor,
) -> None:
    """A durable write (the step and its wait) and the rules' read (with the spam filter's) send
    their scripts by SHA alone, never asking first whether the server has them (no SCRIPT
    EXISTS round trip); a server that lost its scripts is given them again."""
    app = create_app(app_config(url_of(aof_redis), "scripts"))
    client = app.test_client()
    raw = redis.Redis.from_url(url_of(aof_redis), decode_responses=True)
    assert client.post(URL, json=reply(body="Before the flush")).status_code == 202
    raw.script_flush()
    raw.config_resetstat()
    posted = client.post(URL, json=reply(email="second@example.com", body="After the flush"))
    assert posted.status_code == 202
    comment_id = posted.get_json()["comment"]["id"]
    headers = {"Authorization": "Bearer alice-token-0123456789"}
    approved = client.post(f"/api/v1/moderation/comments/{comment_id}/approve", headers=headers)
    assert approved.status_code == 200
    stats = raw.info("commandstats")
    assert not [name for name in stats if "script|exists" in name], stats.keys()
    assert any("script|load" in name for name in stats), stats.keys()
    assert client.get(URL).get_json()["count"] == 1
    close_app(app)
    raw.close()


def test_full_memory_refuses_writes_and_keeps_reading(aof_redis: RedisExecutor) -> None:
    app = create_app(app_config(url_of(aof_redis), "full"))
    client = app.test_client()
    assert client.post(URL, json=reply()).status_code == 202
    raw = redis.Redis.from_url(url_of(aof_redis), decode_responses=True)
    raw.config_set("maxmemory", "1")  # below what is in use: every write is refused (noeviction)

    refused = client.post(URL, json=reply())
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert client.get(URL).status_code == 200
    assert len(pending_ids(raw, "full")) == 1  # nothing evicted, nothing half written

    raw.config_set("maxmemory", "0")
    assert client.post(URL, json=reply()).status_code == 202
    assert len(pending_ids(raw, "full")) == 2
    close_app(app)
    raw.close()


def test_redis_paused_past_the_socket_timeout_stores_exactly_one(
    aof_redis: RedisExecutor,
) -> None:
    """A submit whose reply is lost to a pause is re-sent by the client: still one comment."""
    app = create_app(
        app_config(url_of(aof_redis), "paused", redis_socket_timeout=0.3, redis_retries=3)
    )
    client = app.test_client()
    raw = redis.Redis.from_url(url_of(aof_redis), decode_responses=True)
    # Writes wait for a second, well past the 0.3 s socket timeout; reads go on.
    raw.execute_command("CLIENT", "PAUSE", 1000, "WRITE")
    response = client.post(URL, json=reply(body="Sent during a pause"))
    assert response.status_code in (202, 503)
    raw.execute_command("CLIENT", "UNPAUSE")
    stored = [
        comment_id
        for comment_id in stored_ids(raw, "paused")
        if stored_fields(raw, "paused", "article-1", comment_id)["body"] == "Sent during a pause"
    ]
    assert len(stored) == 1
    assert len(pending_ids(raw, "paused")) == 1
    close_app(app)
    raw.close()


def test_a_worker_killed_mid_request_leaves_no_half_written_comment(
    aof_redis: RedisExecutor, tmp_path: Path
) -> None:
    """Kill the gunicorn worker while its submission waits on Redis: all of it, or none."""
    port = get_port(None)
    server = start_gunicorn(url_of(aof_redis), "killed", port, tmp_path / "gunicorn.log")
    base = f"http://127.0.0.1:{port}"
    raw = redis.Redis.from_url(url_of(aof_redis), decode_responses=True)
    try:
        wait_until_answers(base, server)
        log = (tmp_path / "gunicorn.log").read_text()
        [worker_pid] = [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", log)]
        raw.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
        posting = threading.Thread(target=_post_quietly, args=(base,))
        posting.start()
        time.sleep(0.5)  # the request now waits on a paused Redis
        os.kill(worker_pid, signal.SIGKILL)
        posting.join(timeout=10)
        raw.execute_command("CLIENT", "UNPAUSE")
        time.sleep(0.2)
        comments = stored_ids(raw, "killed")
        pending = pending_ids(raw, "killed")
        assert len(comments) == len(pending) <= 1
        for comment_id in comments:
            record = stored_members(raw, "killed", "article-1", comment_id)
            assert record["s"] == "pending" and pending == [comment_id]
            assert record[records.SEALED]
            assert located(raw, "killed", comment_id)
    finally:
        stop_gunicorn(server)
        raw.close()


def _post_quietly(base: str) -> None:
    request = urllib.request.Request(
        f"{base}{URL}",
        data=json.dumps(reply(body="Interrupted")).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except OSError:
        pass  # the worker died: the connection was cut


def test_a_read_only_redis_refuses_writes_with_503_then_recovers(
    aof_redis: RedisExecutor,
) -> None:
    """READONLY (a replica, say after a failover gone wrong): 503 on writes, reads go on."""
    app = create_app(app_config(url_of(aof_redis), "readonly"))
    client = app.test_client()
    assert client.post(URL, json=reply()).status_code == 202
    raw = redis.Redis.from_url(url_of(aof_redis), decode_responses=True)
    raw.execute_command("REPLICAOF", "127.0.0.1", get_port(None))  # a primary that is not there
    try:
        refused = client.post(URL, json=reply())
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        assert client.get(URL).status_code == 200
    finally:
        raw.execute_command("REPLICAOF", "NO", "ONE")
    assert client.post(URL, json=reply()).status_code == 202
    assert len(pending_ids(raw, "readonly")) == 2
    close_app(app)
    raw.close()
