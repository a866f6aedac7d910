"""The service on real local clusters: three masters with a replica each, and Sentinel.

Under a steady load of submissions and decisions, a master killed with SIGKILL, a slot moved
between masters, and a Sentinel-managed primary killed: the service follows by itself (503 with
Retry-After while there is no primary, normal answers within 10 s of the promotion), and with
`durability = "replica"` no acknowledged comment or decision is lost, nothing is half written.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis.crc import key_slot

from service import EXTENSION, create_app
from service.keys import BUCKETS, Keys, article_bucket, bucket_tags
from service.models import Status
from service.spam_filter import features
from tests.conftest import MODERATOR_TOKENS, TOPOLOGY, app_config, close_app
from tests.helpers import reply, slot_counts, stored_fields
from tests.servers import Cluster, SentinelSetup, Standalone, cli_executable, wait_until

pytestmark = pytest.mark.skipif(
    TOPOLOGY == "cluster", reason="starts clusters of its own; runs once, with the first suite"
)

MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}
# One article per bucket, so the load reaches every master.
ARTICLES = [
    next(
        f"story-{bucket}-{n}"
        for n in itertools.count()
        if article_bucket(f"story-{bucket}-{n}") == bucket
    )
    for bucket in range(BUCKETS)
]
RECOVERY_SECONDS = 10.0


@dataclass
class Load:
    """Submit comments round the articles from a thread, approving each acknowledged one, and
    record what was acknowledged and when the service answered normally."""

    app: Flask
    articles: list[str]
    acknowledged: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    unavailable: int = 0
    unexpected: list[tuple[int, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def run(self) -> None:
        client = self.app.test_client()
        for number in itertools.count():
            if self.stop.is_set():
                return
            article_id = self.articles[number % len(self.articles)]
            page = client.get(f"/api/v1/articles/{article_id}/comments")
            self._record(page.status_code, page.get_json(), page.headers)
            answer = client.post(f"/api/v1/articles/{article_id}/comments", json=reply())
            if not self._record(answer.status_code, answer.get_json(), answer.headers):
                continue
            comment_id = answer.get_json()["comment"]["id"]
            self.acknowledged.append(comment_id)
            self.writes.append(time.monotonic())
            decided = client.post(
                f"/api/v1/moderation/comments/{comment_id}/approve", headers=MODERATOR
            )
            if self._record(decided.status_code, decided.get_json(), decided.headers):
                self.approved.append(comment_id)

    def _record(self, status: int, body: Any, headers: Any) -> bool:
        if status in (200, 201, 202):
            self.successes.append(time.monotonic())
            return True
        if status == 503 and headers.get("Retry-After"):
            self.unavailable += 1
            time.sleep(0.05)
        else:
            self.unexpected.append((status, body))
        return False

    def recovered_within(self, since: float, moments: list[float] | None = None) -> float:
        """Seconds from `since` to the first normal answer (or acknowledged write) after it."""
        later = [
            moment for moment in (self.successes if moments is None else moments) if moment >= since
        ]
        assert later, "the service never answered normally again"
        return later[0] - since


@pytest.fixture
def load_on() -> Iterator[Any]:
    """Start a load on an app; stop it (and close the app) after the test."""
    running: list[tuple[Load, threading.Thread]] = []

    def start(app: Flask, articles: list[str] = ARTICLES) -> Load:
        load = Load(app, articles)
        load.thread = threading.Thread(target=load.run, daemon=True)
        load.thread.start()
        running.append((load, load.thread))
        return load

    yield start
    for load, thread in running:
        load.stop.set()
        thread.join(timeout=30)
        close_app(load.app)


def stop(load: Load) -> None:
    """Stop the load once its request in flight is answered."""
    load.stop.set()
    assert load.thread is not None
    load.thread.join(timeout=30)


def wait_for(load: Load, acknowledged: int, timeout: float = 60) -> None:
    """Wait until the load has had `acknowledged` more comments acknowledged."""
    target = len(load.acknowledged) + acknowledged
    deadline = time.monotonic() + timeout
    while len(load.acknowledged) < target:
        assert time.monotonic() < deadline, f"load stalled: {load.unexpected[-3:]}"
        time.sleep(0.05)


def assert_nothing_lost(app: Flask, load: Load) -> None:
    """Every acknowledged comment is stored, every acknowledged approval holds."""
    assert load.unexpected == []
    client = app.test_client()
    approved = set(load.approved)
    for comment_id in load.acknowledged:
        answer = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
        assert answer.status_code == 200, (comment_id, answer.get_json())
        if comment_id in approved:
            assert answer.get_json()["status"] == Status.APPROVED, comment_id
    counts = client.get("/api/v1/counts", query_string={"article_id": load.articles}).get_json()
    assert sum(counts["counts"].values()) >= len(approved)


def cluster_app(cluster: Cluster, key_prefix: str) -> Flask:
    return create_app(
        app_config(cluster.url, key_prefix, durability="replica", redis_socket_timeout=1.0)
    )


def test_views_merge_every_master(three_master_cluster: Cluster, key_prefix: str) -> None:
    app = cluster_app(three_master_cluster, key_prefix)
    client = app.test_client()
    try:
        ids = []
        for article_id in ARTICLES:
            answer = client.post(f"/api/v1/articles/{article_id}/comments", json=reply())
            assert answer.status_code == 202
            ids.append(answer.get_json()["comment"]["id"])
        # The buckets, and so the comments, sit on every master.
        raw = three_master_cluster.client(decode_responses=True)
        owners = {
            three_master_cluster.master_for_slot(
                key_slot(Keys(key_prefix).queue(b, Status.PENDING).encode())
            ).port
            for b in range(BUCKETS)
        }
        assert len(owners) == 3
        queue = client.get("/api/v1/moderation/comments?limit=100", headers=MODERATOR).get_json()
        assert [item["id"] for item in queue["comments"]] == ids  # oldest first, site-wide
        decided = client.post(
            "/api/v1/moderation/decisions",
            headers=MODERATOR,
            json={"ids": ids, "action": "approve"},
        )
        assert decided.status_code == 200
        counts = client.get("/api/v1/counts", query_string={"article_id": ARTICLES}).get_json()
        assert counts["counts"] == dict.fromkeys(ARTICLES, 1)
        stats = client.get("/api/v1/moderation/stats", headers=MODERATOR).get_json()
        assert stats["counts"]["approved"] == BUCKETS and stats["counts"]["pending"] == 0
        # The spam filter learned every approval on its own master, and reads what it learned.
        spam_filter = app.extensions[EXTENSION].spam_filter
        assert spam_filter.filter_store.totals().ham_comments == BUCKETS
        slots = features(reply()["name"], reply()["body"], None, reply()["email"]).slots()
        counts = slot_counts(raw, key_prefix, slots).values()
        assert all(found is not None and found[2] == BUCKETS for found in counts)
        assert raw.ping()
    finally:
        close_app(app)


def test_a_killed_master_loses_no_acknowledged_write(
    three_master_cluster: Cluster, key_prefix: str, load_on: Any
) -> None:
    cluster = three_master_cluster
    app = cluster_app(cluster, key_prefix)
    load = load_on(app)
    wait_for(load, 20)
    victim = cluster.master_for_slot(key_slot(bucket_tags()[article_bucket(ARTICLES[0])].encode()))
    acknowledged_before = len(load.acknowledged)
    cluster.kill(victim)
    cluster.wait_for_promotion(victim)
    promoted_at = time.monotonic()
    # An orchestrator brings the crashed node back; it rejoins as a replica, so writes can be
    # confirmed on a replica again.
    cluster.restart(victim)
    wait_for(load, 20)
    assert load.recovered_within(promoted_at) <= RECOVERY_SECONDS
    stop(load)
    assert len(load.acknowledged) > acknowledged_before
    assert_nothing_lost(app, load)


def test_a_slot_moved_under_load_keeps_every_comment_whole(
    three_master_cluster: Cluster, key_prefix: str, load_on: Any
) -> None:
    cluster = three_master_cluster
    bucket = article_bucket(ARTICLES[3])
    slot = key_slot(bucket_tags()[bucket].encode())
    app = cluster_app(cluster, key_prefix)
    load = load_on(app, [ARTICLES[3]])
    wait_for(load, 10)
    source = cluster.master_for_slot(slot)
    target = next(node for node in cluster.masters() if node.port != source.port)
    moved = cluster.move_slot(slot, target)
    assert moved > 0
    wait_for(load, 10)
    stop(load)
    assert cluster.master_for_slot(slot).port == target.port
    assert_nothing_lost(app, load)
    # Nothing half written: each comment's record, locator entry and state indexes agree.
    raw = cluster.client(decode_responses=True)
    keys = Keys(key_prefix)
    for comment_id in load.acknowledged:
        record = stored_fields(raw, key_prefix, ARTICLES[3], comment_id)
        assert raw.hexists(keys.locator(bucket, comment_id), comment_id)
        state = record["status"]
        assert raw.zscore(keys.queue(bucket, Status(state)), comment_id) is not None
        assert raw.zscore(keys.article_status(ARTICLES[3], Status(state)), comment_id) is not None


def test_sentinel_failover_is_followed_and_loses_nothing(
    sentinel_setup: SentinelSetup, key_prefix: str, load_on: Any
) -> None:
    app = create_app(app_config(sentinel_setup.url, key_prefix, durability="replica"))
    load = load_on(app)
    wait_for(load, 20)
    victim = sentinel_setup.kill_primary()
    new_host, new_port = sentinel_setup.wait_for_failover()
    promoted_at = time.monotonic()
    # The crashed server comes back as a replica of the new primary (an operator's or
    # orchestrator's step; Sentinel alone would wait a while before reconfiguring it).
    victim.launch()
    victim.wait_ready()
    victim.call("REPLICAOF", new_host, new_port)
    wait_until(
        lambda: victim.info("replication").get("master_link_status") == "up",
        30,
        "the old primary to come back as a replica",
    )
    replica_back_at = time.monotonic()
    wait_for(load, 20)
    # Reads answer normally within 10 s of the promotion...
    assert load.recovered_within(promoted_at) <= RECOVERY_SECONDS
    # ...and writes, which wait for a replica's confirmation, within 10 s of one being back.
    assert load.recovered_within(replica_back_at, load.writes) <= RECOVERY_SECONDS
    stop(load)
    assert_nothing_lost(app, load)


def test_a_deployment_moves_to_a_cluster_with_redis_cli(
    tmp_path: Path, one_node_cluster: Cluster, key_prefix: str
) -> None:
    """README, "Moving a running deployment": the layout is the same, so `redis-cli --cluster
    import` copies one server's keys into a cluster and the service reads them there."""
    with Standalone(tmp_path / "old") as old:
        before = create_app(app_config(old.url, key_prefix))
        client = before.test_client()
        ids = []
        for article_id in ARTICLES[:4]:
            answer = client.post(f"/api/v1/articles/{article_id}/comments", json=reply())
            ids.append(answer.get_json()["comment"]["id"])
        approved = client.post(f"/api/v1/moderation/comments/{ids[0]}/approve", headers=MODERATOR)
        assert approved.status_code == 200
        close_app(before)
        node = one_node_cluster.masters()[0]
        copied = subprocess.run(
            [
                str(cli_executable()),
                "--cluster",
                "import",
                node.address,
                "--cluster-from",
                old.server.address,
                "--cluster-copy",
                "--cluster-replace",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert copied.returncode == 0, copied.stdout + copied.stderr
    after = create_app(app_config(one_node_cluster.url, key_prefix))
    try:
        client = after.test_client()
        queue = client.get("/api/v1/moderation/comments", headers=MODERATOR).get_json()
        assert [item["id"] for item in queue["comments"]] == ids[1:]
        assert client.get(f"/api/v1/articles/{ARTICLES[0]}/comments").get_json()["count"] == 1
        decided = client.post(f"/api/v1/moderation/comments/{ids[1]}/approve", headers=MODERATOR)
        assert decided.status_code == 200
    finally:
        close_app(after)
