"""Webhooks: signed deliveries of comment events to real local receivers, against a real Redis,
with retries, dead letters, and a worker killed mid-delivery."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from port_for import get_port

from service import EXTENSION, Services
from service.cli import main
from service.keys import BUCKETS, Keys, article_bucket
from service.webhook_store import GROUP, WebhookStore
from service.webhooks import WebhookWorker, backoff_seconds, sign
from tests.conftest import MODERATOR_TOKENS, SECRET_KEY, ClientFactory
from tests.helpers import decide, event_entries, event_streams, keyspace_mentions, submit

WEBHOOK_SECRET = "webhook-secret-for-the-tests-0123456789"
EMAIL = "private-reader@example.com"


# --- a receiver -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Received:
    """One POST a receiver got: headers (lower-cased names), body, when."""

    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def delivery(self) -> str:
        return self.headers["x-comments-delivery"]

    def json(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.body)
        return payload


class _Server(ThreadingHTTPServer):
    # Join every handler thread on close; a worker killed mid-request is no test failure.
    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Receiver:
    """A local HTTP server that records POSTs, answers the given statuses in turn (then 200),
    keeps each delivery it accepted once (by X-Comments-Delivery, as a receiver should), and
    with `hold_first` holds its first request until `release` is set."""

    def __init__(self, statuses: tuple[int, ...] = (), hold_first: bool = False) -> None:
        self.statuses = list(statuses)
        self.requests: list[Received] = []
        self.accepted: dict[str, Received] = {}
        self.holding = threading.Event()
        self.release = threading.Event()
        self._hold = hold_first
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got = Received({k.lower(): v for k, v in self.headers.items()}, body, time.time())
                with receiver._lock:
                    receiver.requests.append(got)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if 200 <= status < 300:
                        receiver.accepted.setdefault(got.delivery, got)
                    hold, receiver._hold = receiver._hold, False
                if hold:
                    receiver.holding.set()
                    receiver.release.wait(30)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Start receivers; close them all after the test."""
    started: list[Receiver] = []

    def start(*statuses: int, hold_first: bool = False) -> Receiver:
        started.append(Receiver(statuses, hold_first))
        return started[-1]

    yield start
    for receiver in started:
        receiver.close()


# --- helpers ----------------------------------------------------------------------------------


def services_of(client: FlaskClient) -> Services:
    services: Services = client.application.extensions[EXTENSION]
    return services


def hooked_client(make_client: ClientFactory, *urls: str, **settings: Any) -> FlaskClient:
    return make_client(webhook_urls=urls, webhook_secret=WEBHOOK_SECRET, **settings)


def worker_of(client: FlaskClient) -> WebhookWorker:
    services = services_of(client)
    worker = WebhookWorker(services.store, services.settings, consumer="test-worker")
    worker.start()
    return worker


def work_until(worker: WebhookWorker, done: Callable[[], bool], timeout: float = 15.0) -> None:
    """Step the worker until `done` holds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        if not worker.step():
            time.sleep(0.01)


def signature_is_valid(received: Received) -> bool:
    timestamp = received.headers["x-comments-timestamp"]
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + received.body, "sha256")
    expected = f"sha256={mac.hexdigest()}"
    return hmac.compare_digest(expected, received.headers["x-comments-signature"])


def unacknowledged(redis_client: redis.Redis, key_prefix: str) -> int:
    """Count the events the group handed out and nobody acknowledged, over every bucket."""
    total = 0
    for bucket in range(BUCKETS):
        try:
            summary: Any = redis_client.xpending(Keys(key_prefix).events(bucket), GROUP)
        except redis.ResponseError:
            continue  # no stream or no group there yet
        total += int(summary["pending"])
    return total


def consumers(redis_client: redis.Redis, key_prefix: str) -> set[str]:
    """Name the group's consumers on any bucket's stream."""
    names: set[str] = set()
    for stream in event_streams(redis_client, key_prefix):
        names.update(entry["name"] for entry in redis_client.xinfo_consumers(stream, GROUP))
    return names


def log_of(client: FlaskClient) -> list[dict[str, str]]:
    return WebhookStore(services_of(client).store).log_entries()


# --- tests ------------------------------------------------------------------------------------


def test_submit_approve_reject_are_delivered_signed_with_the_public_view(
    make_client: ClientFactory,
    receivers: Callable[..., Receiver],
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    receiver = receivers()
    client = hooked_client(make_client, receiver.url)
    # Written before any worker made the consumer group: still delivered.
    comment = submit(client, "article-9", email=EMAIL, name="Ann Reader", body="Hello there")
    worker = worker_of(client)
    work_until(worker, lambda: len(receiver.requests) == 1)
    decide(client, moderator, comment["id"], "approve")
    work_until(worker, lambda: len(receiver.requests) == 3)
    decide(client, moderator, comment["id"], "reject", reason="off topic")
    work_until(worker, lambda: len(receiver.requests) == 5)
    assert worker.drain() == 0

    # Publishing and unpublishing change the article's public list: an article.changed after
    # each comment event.
    received_types = [received.json()["type"] for received in receiver.requests]
    assert received_types == [
        "comment.pending",
        "comment.approved",
        "article.changed",
        "comment.rejected",
        "article.changed",
    ]
    changes = [received.json() for received in receiver.requests[2::2]]
    assert {(change["article_id"], change["status"]) for change in changes} == {("article-9", None)}
    pending, approved, _, rejected, _ = (received.json() for received in receiver.requests)
    assert [pending["type"], approved["type"], rejected["type"]] == [
        "comment.pending",
        "comment.approved",
        "comment.rejected",
    ]
    assert [pending["status"], approved["status"], rejected["status"]] == [
        "pending",
        "approved",
        "rejected",
    ]
    assert [pending["moderator"], approved["moderator"], rejected["moderator"]] == [
        None,
        "alice",
        "alice",
    ]
    events = event_entries(redis_client, key_prefix)
    assert [received.json()["id"] for received in receiver.requests] == [
        position for position, _ in events
    ]
    assert event_streams(redis_client, key_prefix) == [
        Keys(key_prefix).events(bucket) for bucket in range(BUCKETS)
    ]
    assert {position.rsplit("-", 1)[1] for position, _ in events} == {
        str(article_bucket("article-9"))
    }
    # The comment as readers see it when the event is delivered: published once approved,
    # a placeholder while it waits or after its rejection.
    assert approved["comment"]["id"] == comment["id"]
    assert approved["comment"]["name"] == "Ann Reader"
    assert approved["comment"]["body"] == "Hello there"
    assert approved["article_id"] == "article-9"
    assert approved["created_at"].endswith("Z")
    for payload in (pending, rejected):
        assert payload["comment"]["id"] == comment["id"]
        assert payload["comment"]["body"] is None and payload["comment"]["removed"] is True

    now = time.time()
    for received in receiver.requests:
        assert signature_is_valid(received)
        assert received.headers["content-type"] == "application/json"
        assert received.headers["x-comments-event"] == received.json()["type"]
        assert abs(int(received.headers["x-comments-timestamp"]) - now) < 60
        assert EMAIL not in received.body.decode() and "@" not in received.body.decode()
        assert set(received.json()) == {
            "id",
            "type",
            "created_at",
            "comment",
            "article_id",
            "status",
            "moderator",
        }
    assert len({received.delivery for received in receiver.requests}) == 5
    # A tampered body fails verification.
    tampered = dataclasses.replace(receiver.requests[0], body=receiver.requests[0].body + b" ")
    assert not signature_is_valid(tampered)

    assert unacknowledged(redis_client, key_prefix) == 0
    assert [entry["result"] for entry in log_of(client)] == ["delivered"] * 5
    # Neither the events, nor the log, nor anything else the webhooks keep holds the email.
    assert keyspace_mentions(redis_client, EMAIL) == []


def test_a_failing_receiver_gets_the_event_once_after_backoff(
    make_client: ClientFactory, receivers: Callable[..., Receiver], redis_client: redis.Redis
) -> None:
    receiver = receivers(500, 500)
    client = hooked_client(make_client, receiver.url, webhook_backoff_seconds=0.2)
    submit(client)
    worker = worker_of(client)
    work_until(worker, lambda: len(receiver.accepted) == 1)
    assert worker.drain() == 0

    assert len(receiver.requests) == 3
    assert len({received.delivery for received in receiver.requests}) == 1
    assert len(receiver.accepted) == 1
    first, second, third = (received.at for received in receiver.requests)
    # Waits of 0.2 s, then 0.4 s (the doubling backoff), give or take a poll.
    assert second - first >= 0.19
    assert third - second >= 0.39

    log = log_of(client)
    assert [(entry["attempt"], entry["result"], entry["status"]) for entry in log] == [
        ("1", "retry", "500"),
        ("2", "retry", "500"),
        ("3", "delivered", "200"),
    ]
    assert {entry["url"] for entry in log} == {receiver.url}
    assert {entry["delivery_id"] for entry in log} == {receiver.requests[0].delivery}
    assert all(entry["error"] == "HTTP 500" for entry in log[:2]) and log[2]["error"] == ""
    assert all(int(entry["duration_ms"]) >= 0 and entry["at"].endswith("Z") for entry in log)
    webhooks = WebhookStore(services_of(client).store)
    assert webhooks.scheduled() == [] and webhooks.dead_letters() == []


def test_a_delivery_that_keeps_failing_goes_to_the_dead_letters(
    make_client: ClientFactory,
    receivers: Callable[..., Receiver],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    failing, healthy = receivers(*[503] * 10), receivers()
    closed_port = f"http://127.0.0.1:{get_port(None)}/hooks"
    client = hooked_client(
        make_client,
        failing.url,
        closed_port,
        healthy.url,
        webhook_max_attempts=3,
        webhook_backoff_seconds=0.01,
    )
    comment = submit(client)
    worker = worker_of(client)
    webhooks = WebhookStore(services_of(client).store)
    work_until(worker, lambda: len(webhooks.dead_letters()) == 2)
    assert worker.drain() == 0

    assert len(failing.requests) == 3 and len(healthy.requests) == 1
    letters = {letter["url"]: letter for letter in webhooks.dead_letters()}
    assert set(letters) == {failing.url, closed_port}
    letter = letters[failing.url]
    assert letter["delivery_id"] == failing.requests[0].delivery
    assert letter["type"] == "comment.pending" and letter["comment_id"] == comment["id"]
    assert (letter["attempts"], letter["last_status"]) == (3, 503)
    assert letters[closed_port]["last_status"] is None
    assert letters[closed_port]["last_error"] == "ConnectionRefusedError"
    assert webhooks.scheduled() == []
    assert unacknowledged(redis_client, key_prefix) == 0
    results = [(entry["url"], entry["result"]) for entry in webhooks.log_entries()]
    assert results.count((failing.url, "retry")) == 2
    assert results.count((failing.url, "dead")) == 1
    assert results.count((healthy.url, "delivered")) == 1


def test_a_redelivered_event_is_not_posted_again_where_it_arrived(
    make_client: ClientFactory,
    receivers: Callable[..., Receiver],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    healthy, failing = receivers(), receivers(500)
    client = hooked_client(make_client, healthy.url, failing.url, webhook_backoff_seconds=60)
    submit(client)
    worker = worker_of(client)
    work_until(worker, lambda: len(failing.requests) == 1)
    # As if the worker had died before acknowledging: hand the event out again.
    events = Keys(key_prefix).events(article_bucket("article-1"))
    redis_client.xgroup_setid(events, GROUP, "0")
    assert worker.drain() == 1
    assert (len(healthy.requests), len(failing.requests)) == (1, 1)
    assert len(WebhookStore(services_of(client).store).scheduled()) == 1


def test_a_worker_killed_mid_delivery_delivers_after_restart(
    make_client: ClientFactory,
    receivers: Callable[..., Receiver],
    redis_client: redis.Redis,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
) -> None:
    holding, other = receivers(hold_first=True), receivers()
    client = hooked_client(make_client, holding.url, other.url)
    submit(client)
    env = worker_environment(redis_url, key_prefix, holding.url, other.url)

    first = start_worker(env, tmp_path / "first.log")
    try:
        assert holding.holding.wait(30), read_log(tmp_path / "first.log")
    finally:
        first.kill()
        first.wait(timeout=10)
    holding.release.set()
    assert unacknowledged(redis_client, key_prefix) == 1
    assert other.requests == []

    second = start_worker(env, tmp_path / "second.log")
    try:
        deadline = time.monotonic() + 30
        while len(other.accepted) < 1 or len(holding.requests) < 2:
            assert second.poll() is None and time.monotonic() < deadline, read_log(
                tmp_path / "second.log"
            )
            time.sleep(0.05)
        while unacknowledged(redis_client, key_prefix):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=15)
    assert code == 0, read_log(tmp_path / "second.log")

    # The held POST was accepted before the kill; its repeat carries the same delivery id, so
    # the receiver keeps one. The other URL never saw the first worker and gets it once.
    assert len(holding.requests) == 2
    assert holding.requests[0].delivery == holding.requests[1].delivery
    assert len(holding.accepted) == 1 and len(other.accepted) == 1
    assert len(other.requests) == 1
    assert all(signature_is_valid(received) for received in holding.requests + other.requests)
    results = [(entry["url"], entry["result"]) for entry in log_of(client)]
    assert sorted(results) == sorted([(holding.url, "delivered"), (other.url, "delivered")])
    # Both processes' consumers hold nothing now: a later worker may forget them.
    time.sleep(0.01)
    assert len(consumers(redis_client, key_prefix)) == 2
    # Each consumer is removed from every bucket's stream (the count is per stream).
    assert WebhookStore(services_of(client).store).forget_idle_consumers(0) == 2 * BUCKETS
    assert consumers(redis_client, key_prefix) == set()


def test_no_webhook_urls_no_events(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    comment = submit(client)
    decide(client, moderator, comment["id"], "approve")
    assert decide(client, moderator, comment["id"], "reject")["status"] == "rejected"
    assert event_streams(redis_client, key_prefix) == []


def test_the_command_delivers_what_is_due_once(
    cli_env: None,
    receivers: Callable[..., Receiver],
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receiver = receivers()
    submit(hooked_client(make_client, receiver.url))
    monkeypatch.setenv("COMMENTS_WEBHOOK_URLS", receiver.url)
    assert main(["webhooks", "--once"]) == 2  # no secret: never unsigned
    assert "COMMENTS_WEBHOOK_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("COMMENTS_WEBHOOK_SECRET", WEBHOOK_SECRET)
    assert main(["webhooks", "--once"]) == 0
    assert "Handled 1 event(s)" in capsys.readouterr().out
    assert len(receiver.accepted) == 1 and signature_is_valid(receiver.requests[0])
    assert main(["webhooks", "--once"]) == 0
    assert len(receiver.requests) == 1


def test_signature_and_backoff() -> None:
    body = b'{"id":"1-0"}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, body) == f"sha256={expected}"
    assert [backoff_seconds(2, attempt) for attempt in range(1, 6)] == [2, 4, 8, 16, 32]
    assert backoff_seconds(2, 30) == 3600


# --- the worker as a process ------------------------------------------------------------------


def worker_environment(redis_url: str, key_prefix: str, *urls: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMMENTS_")}
    env.update(
        REDIS_URL=redis_url,
        COMMENTS_KEY_PREFIX=key_prefix,
        COMMENTS_SECRET_KEY=SECRET_KEY,
        COMMENTS_MODERATOR_TOKENS=",".join(f"{n}:{t}" for n, t in MODERATOR_TOKENS.items()),
        COMMENTS_WEBHOOK_URLS=",".join(urls),
        COMMENTS_WEBHOOK_SECRET=WEBHOOK_SECRET,
        COMMENTS_WEBHOOK_VISIBILITY_TIMEOUT_SECONDS="1",
    )
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run `news-comments webhooks`, logging to a file (an unread pipe could stall it)."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", "webhooks"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def read_log(path: Path) -> str:
    return path.read_text() if path.exists() else ""
