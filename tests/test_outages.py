"""Redis away, or configured to drop data: clear 503 answers, and recovery without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pytest_redis.executor import RedisExecutor

from service import create_app
from tests.conftest import app_config, start_private_redis
from tests.helpers import pending_ids, reply

URL = "/api/v1/articles/article-1/comments"
# Generous: with the test's timeouts an answer comes in well under a second; the bound only
# proves that no request hangs.
BOUND_SECONDS = 10


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisExecutor]:
    executor = start_private_redis(tmp_path)
    yield executor
    if executor.running():
        executor.stop()


def url_of(executor: RedisExecutor) -> str:
    return f"redis://{executor.host}:{executor.port}/0"


def test_redis_down_gives_503_then_recovers(private_redis: RedisExecutor) -> None:
    app = create_app(app_config(url_of(private_redis), "outage"))
    client = app.test_client()
    assert client.post(URL, json=reply()).status_code == 202
    assert client.get("/readyz").status_code == 200

    private_redis.stop()
    for method, kwargs in (("GET", {}), ("POST", {"json": reply()})):
        started = time.monotonic()
        response = client.open(URL, method=method, **kwargs)
        assert time.monotonic() - started < BOUND_SECONDS
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        body = response.get_json()
        assert body["code"] == 503 and body["status"] == "Service Unavailable"
        assert "outage" not in response.get_data(as_text=True)
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert "Redis does not answer" in not_ready.get_json()["message"]
    assert client.get("/healthz").status_code == 200

    private_redis.start()
    assert client.get("/readyz").status_code == 200
    page = client.get(URL)
    assert page.status_code == 200
    assert client.post(URL, json=reply()).status_code == 202
    raw = redis.Redis.from_url(url_of(private_redis), decode_responses=True)
    assert len(pending_ids(raw, "outage")) == 2
    raw.close()


def test_readyz_refuses_an_evicting_redis(private_redis: RedisExecutor) -> None:
    app = create_app(app_config(url_of(private_redis), "policy"))
    client = app.test_client()
    raw = redis.Redis.from_url(url_of(private_redis))
    raw.config_set("maxmemory-policy", "allkeys-lru")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "allkeys-lru" in response.get_json()["message"]
    raw.config_set("maxmemory-policy", "noeviction")
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["maxmemory_policy"] == "noeviction"
