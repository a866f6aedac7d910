"""Behind a CDN: cache headers on public answers, no-store on private ones, and purge calls on
every change to an article's public list, made by the webhooks worker to a real local server."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from service import EXTENSION, Services
from service.settings import SettingsError, load_settings
from service.webhook_store import WebhookStore
from service.webhooks import WebhookWorker
from tests.conftest import ClientFactory
from tests.helpers import decide, event_entries, listing, pending_ids, publish, submit

PURGE_TOKEN = "fastly-api-token-for-the-tests"


# --- a CDN's purge API ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Purge:
    """One purge call the CDN got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class PurgeRecorder:
    """A local HTTP server standing for a CDN's purge API: records every call, answers the given
    statuses in turn (then 200)."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.statuses = list(statuses)
        self.calls: list[Purge] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with recorder._lock:
                    recorder.calls.append(Purge(self.command, self.path, headers, body))
                    status = recorder.statuses.pop(0) if recorder.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PURGE = do_POST = do_BAN = record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def paths(self) -> list[str]:
        with self._lock:
            return [call.path for call in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def cdn() -> Iterator[Callable[..., PurgeRecorder]]:
    """Start purge recorders; close them after the test."""
    started: list[PurgeRecorder] = []

    def start(*statuses: int) -> PurgeRecorder:
        started.append(PurgeRecorder(statuses))
        return started[-1]

    yield start
    for recorder in started:
        recorder.close()


def services_of(client: FlaskClient) -> Services:
    services: Services = client.application.extensions[EXTENSION]
    return services


def purging_client(make_client: ClientFactory, recorder: PurgeRecorder, **settings: Any) -> Any:
    return make_client(
        cdn_purge_url=f"{recorder.base}/purge/article-{{article_id}}",
        cdn_purge_header="Fastly-Key",
        cdn_purge_token=PURGE_TOKEN,
        **settings,
    )


def delivered(client: FlaskClient) -> int:
    """Run the webhooks worker over everything due; answer how many events it handled."""
    services = services_of(client)
    worker = WebhookWorker(services.store, services.settings, consumer="test-worker")
    return worker.drain()


def event_types(redis_client: redis.Redis, key_prefix: str) -> list[str]:
    return [fields["type"] for _, fields in event_entries(redis_client, key_prefix)]


# --- cache headers ----------------------------------------------------------------------------


def test_published_lists_are_public_with_a_purge_key_and_answer_304(
    make_client: ClientFactory, moderator: dict[str, str]
) -> None:
    client = make_client(cache_max_age=7, cache_s_maxage=120, cache_stale_while_revalidate=45)
    comment = publish(client, moderator, "article-7")
    expected = "public, max-age=7, s-maxage=120, stale-while-revalidate=45"

    response = client.get("/api/v1/articles/article-7/comments")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == expected
    assert response.headers["Surrogate-Key"] == "article-article-7"
    etag = response.headers["ETag"]
    assert [item["id"] for item in response.get_json()["comments"]] == [comment["id"]]

    again = client.get("/api/v1/articles/article-7/comments", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"] == expected
    assert again.headers["Surrogate-Key"] == "article-article-7"
    assert again.headers["ETag"] == etag

    one = client.get(f"/api/v1/articles/article-7/comments/{comment['id']}")
    assert one.status_code == 200 and one.get_json()["id"] == comment["id"]
    assert one.headers["Cache-Control"] == expected
    assert one.headers["Surrogate-Key"] == "article-article-7"


def test_counts_are_public_with_one_key_per_article_and_answer_304(
    make_client: ClientFactory, moderator: dict[str, str]
) -> None:
    client = make_client()
    publish(client, moderator, "a-1")
    url = "/api/v1/counts?article_id=a-1&article_id=b:2&article_id=a-1"
    response = client.get(url)
    assert response.status_code == 200
    assert response.get_json() == {"counts": {"a-1": 1, "b:2": 0}}
    # The defaults: a few seconds for browsers, a minute for shared caches.
    assert response.headers["Cache-Control"] == (
        "public, max-age=5, s-maxage=60, stale-while-revalidate=30"
    )
    assert response.headers["Surrogate-Key"] == "article-a-1 article-b:2"
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Surrogate-Key"] == "article-a-1 article-b:2"
    # A new publication changes the answer, and so its ETag.
    publish(client, moderator, "b:2")
    changed = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["counts"]["b:2"] == 1


def test_counts_whose_keys_overflow_the_header_stay_in_shared_caches_only_briefly(
    make_client: ClientFactory,
) -> None:
    client = make_client(cache_max_age=3, cache_s_maxage=600, cdn_key_header="Cache-Tag")
    article_ids = [f"{number:03d}-" + "x" * 190 for number in range(100)]
    response = client.get("/api/v1/counts", query_string={"article_id": article_ids})
    assert response.status_code == 200
    assert len(response.get_json()["counts"]) == 100
    tags = response.headers["Cache-Tag"].split(",")
    assert 0 < len(tags) < 100
    assert tags == [f"article-{article_id}" for article_id in article_ids[: len(tags)]]
    assert len(response.headers["Cache-Tag"]) <= 16_000
    # Purges cannot reach every article in it: shared caches keep it as briefly as browsers.
    assert "s-maxage=3," in response.headers["Cache-Control"]
    few = client.get("/api/v1/counts?article_id=a&article_id=b")
    assert few.headers["Cache-Tag"] == "article-a,article-b"
    assert "s-maxage=600," in few.headers["Cache-Control"]


def test_submissions_errors_and_private_answers_are_never_stored(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    posted = client.post(
        "/api/v1/articles/article-1/comments",
        json={"name": "Ann", "email": "ann@example.com", "body": "Hello"},
    )
    assert posted.status_code == 202
    assert posted.headers["Cache-Control"] == "no-store"
    assert "Surrogate-Key" not in posted.headers
    comment_id = posted.get_json()["comment"]["id"]
    assert pending_ids(redis_client, key_prefix) == [comment_id]
    waiting = client.get(f"/api/v1/articles/article-1/comments/{comment_id}")
    assert waiting.status_code == 404 and waiting.headers["Cache-Control"] == "no-store"
    refused = client.get("/api/v1/articles/article-1/comments?page=0")
    assert refused.status_code == 422 and refused.headers["Cache-Control"] == "no-store"

    private = [
        client.get("/api/v1/moderation/comments", headers=moderator),
        client.get(f"/api/v1/moderation/comments/{comment_id}", headers=moderator),
        client.get("/api/v1/moderation/privacy/export?email=ann@example.com", headers=moderator),
        client.get("/api/v1/moderation/stats", headers=moderator),
        client.get("/api/v1/moderation/comments"),  # 401
        client.get("/metrics"),
        client.get("/readyz"),
    ]
    assert [response.status_code for response in private] == [200, 200, 200, 200, 401, 200, 200]
    assert private[2].get_json()["comments"][0]["email"] == "ann@example.com"
    for response in private:
        assert response.headers["Cache-Control"] == "no-store"
        assert "Surrogate-Key" not in response.headers
    assert [item["id"] for item in private[0].get_json()["comments"]] == [comment_id]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("cache_max_age", -1),
        ("cdn_key_header", "X-Tags"),
        ("cdn_purge_method", "GET"),
        ("cdn_purge_url", "ftp://cdn.example/purge"),
        ("cdn_purge_header", "Bad Header:"),
    ],
)
def test_cache_and_purge_settings_are_checked(setting: str, value: Any) -> None:
    with pytest.raises(SettingsError, match=setting):
        load_settings({setting: value}, environ={})


def test_the_purge_token_comes_from_the_environment_with_its_header(tmp_path: Any) -> None:
    (tmp_path / "defaults.toml").write_text('cdn_purge_token = "x"\n')
    (tmp_path / "development.toml").write_text("")
    with pytest.raises(SettingsError, match="cdn_purge_token"):
        load_settings(environ={"COMMENTS_CONFIG_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="cdn_purge_header"):
        load_settings(environ={"COMMENTS_CDN_PURGE_TOKEN": "secret-token"})
    settings = load_settings(
        environ={"COMMENTS_CDN_PURGE_TOKEN": "secret-token", "COMMENTS_CDN_PURGE_HEADER": "X-Key"}
    )
    assert (settings.cdn_purge_token, settings.cdn_purge_header) == ("secret-token", "X-Key")


# --- purge on change --------------------------------------------------------------------------


def test_every_change_to_a_published_list_purges_that_article_once(
    make_client: ClientFactory,
    cdn: Callable[..., PurgeRecorder],
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    recorder = cdn()
    client = purging_client(make_client, recorder)
    assert services_of(client).store.events_kept > 0  # a purge URL turns the events on

    # A submission waiting for moderation changes nothing readers see: no purge.
    comment = submit(client, "news:42", email="ann@example.com", name="Ann")
    other = submit(client, "news:42")
    assert delivered(client) == 2
    assert recorder.calls == []
    assert event_types(redis_client, key_prefix) == ["comment.pending", "comment.pending"]

    decide(client, moderator, comment["id"], "approve")
    assert delivered(client) == 2  # comment.approved and article.changed
    assert recorder.paths() == ["/purge/article-news%3A42"]
    purge = recorder.calls[0]
    assert purge.method == "PURGE" and purge.body == b""
    assert purge.headers["fastly-key"] == PURGE_TOKEN
    assert listing(client, "news:42")["count"] == 1

    edited = client.post(
        f"/api/v1/moderation/comments/{comment['id']}/edit",
        headers=moderator,
        json={"body": "Edited by the desk"},
    )
    assert edited.status_code == 200
    delivered(client)
    assert len(recorder.calls) == 2

    erased = client.post(
        "/api/v1/moderation/privacy/erase", headers=moderator, json={"email": "ann@example.com"}
    )
    assert erased.status_code == 200
    delivered(client)
    assert len(recorder.calls) == 3
    assert listing(client, "news:42")["comments"][0]["name"] != "Ann"

    # Deleting a comment that was never published changes no public list.
    assert (
        client.delete(f"/api/v1/moderation/comments/{other['id']}", headers=moderator).status_code
        == 204
    )
    delivered(client)
    assert len(recorder.calls) == 3

    assert (
        client.delete(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator).status_code
        == 204
    )
    delivered(client)
    assert recorder.paths() == ["/purge/article-news%3A42"] * 4
    assert listing(client, "news:42")["count"] == 0
    assert event_types(redis_client, key_prefix) == [
        "comment.pending",
        "comment.pending",
        "comment.approved",
        "article.changed",
        "article.changed",
        "article.changed",
        "article.changed",
    ]
    results = [
        (entry["event_type"], entry["result"])
        for entry in WebhookStore(services_of(client).store).log_entries()
    ]
    assert results == [("article.changed", "delivered")] * 4
    assert delivered(client) == 0 and len(recorder.calls) == 4


def test_a_comment_published_at_once_purges_and_a_failed_purge_is_retried(
    make_client: ClientFactory, cdn: Callable[..., PurgeRecorder], moderator: dict[str, str]
) -> None:
    recorder = cdn(503)
    client = make_client(
        moderation_mode="off",
        cdn_purge_url=f"{recorder.base}/client/v4/zones/zone-1/purge_cache",
        cdn_purge_method="POST",
        cdn_purge_body='{"tags": ["article-{article_id}"]}',
        cdn_purge_header="Authorization",
        cdn_purge_token="Bearer cloudflare-token",
        webhook_backoff_seconds=0.05,
    )
    posted = client.post(
        "/api/v1/articles/a:1/comments",
        json={"name": "Ann", "email": "ann@example.com", "body": "At once"},
    )
    assert posted.status_code == 201
    deadline = time.monotonic() + 15
    while len(recorder.calls) < 2:
        assert time.monotonic() < deadline, "the purge was not retried"
        delivered(client)
        time.sleep(0.05)
    first, second = recorder.calls
    assert (first.method, first.path) == ("POST", "/client/v4/zones/zone-1/purge_cache")
    assert json.loads(second.body) == {"tags": ["article-a:1"]}
    assert second.headers["authorization"] == "Bearer cloudflare-token"
    assert second.headers["content-type"] == "application/json"
    webhooks = WebhookStore(services_of(client).store)
    assert [entry["result"] for entry in webhooks.log_entries()] == ["retry", "delivered"]
    assert webhooks.scheduled() == [] and webhooks.dead_letters() == []
    assert delivered(client) == 0 and len(recorder.calls) == 2


def test_article_changed_goes_to_the_webhook_urls_too(
    make_client: ClientFactory, cdn: Callable[..., PurgeRecorder], moderator: dict[str, str]
) -> None:
    receiver = cdn()
    client = make_client(
        webhook_urls=(f"{receiver.base}/hooks",), webhook_secret="webhook-secret-0123456789"
    )
    comment = publish(client, moderator, "article-3")
    assert delivered(client) == 3
    payloads = [json.loads(call.body) for call in receiver.calls]
    assert [payload["type"] for payload in payloads] == [
        "comment.pending",
        "comment.approved",
        "article.changed",
    ]
    change = payloads[2]
    assert change["article_id"] == "article-3" and change["comment"]["id"] == comment["id"]
    assert receiver.calls[2].headers["x-comments-event"] == "article.changed"
