"""`durability = "replica"`: a write is answered once it is on the primary's disk and on a
replica's; without a replica to confirm it, it is refused (503, Retry-After) and safe to retry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from service import create_app
from tests.conftest import TOPOLOGY, app_config, close_app
from tests.helpers import reply, stored_ids
from tests.servers import Standalone, wait_until

pytestmark = pytest.mark.skipif(
    TOPOLOGY == "cluster", reason="starts servers of its own; runs once, with the first suite"
)


@pytest.fixture
def primary(tmp_path: Path) -> Iterator[Standalone]:
    with Standalone(tmp_path / "primary") as server:
        yield server


def replica_app(url: str, key_prefix: str) -> Flask:
    return create_app(app_config(url, key_prefix, durability="replica"))


def test_without_a_replica_a_write_is_refused_and_safe_to_retry(
    primary: Standalone, key_prefix: str
) -> None:
    app = replica_app(primary.url, key_prefix)
    try:
        client = app.test_client()
        headers = {"Idempotency-Key": "retry-me"}
        submission = reply(body="Hi")
        answer = client.post("/api/v1/articles/a1/comments", json=submission, headers=headers)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"]
        assert answer.get_json()["code"] == 503
        # The refused write may have been applied: a retry stores no second comment (it is the
        # duplicate of the first, or refused again while no replica confirms it).
        again = client.post("/api/v1/articles/a1/comments", json=submission, headers=headers)
        assert again.status_code in (409, 503)
        raw = redis.Redis.from_url(primary.url)
        assert len(stored_ids(raw, key_prefix)) <= 1
        raw.close()
    finally:
        close_app(app)


def test_with_a_replica_a_write_is_confirmed_on_it(
    primary: Standalone, tmp_path: Path, key_prefix: str
) -> None:
    with Standalone(tmp_path / "replica") as replica:
        replica.server.call("REPLICAOF", primary.server.host, primary.server.port)
        wait_until(
            lambda: replica.server.info("replication").get("master_link_status") == "up",
            30,
            "the replica to sync",
        )
        app = replica_app(primary.url, key_prefix)
        try:
            client = app.test_client()
            answer = client.post("/api/v1/articles/a1/comments", json=reply())
            assert answer.status_code == 202
            comment_id = answer.get_json()["comment"]["id"]
            # Acknowledged means the replica holds it already.
            copy = redis.Redis.from_url(replica.url, decode_responses=True)
            assert comment_id in stored_ids(copy, key_prefix)
            copy.close()
        finally:
            close_app(app)
