"""Fixtures: a real Redis (a throwaway server unless REDIS_URL is set), the app and its client."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from port_for import get_port
from pytest_redis import factories
from pytest_redis.executor import RedisExecutor

from service import EXTENSION, create_app
from service.cli import GUNICORN_CONFIG, redis_executable
from service.topology import Timeouts, connect

# Real local clusters and Sentinel set-ups (tests/servers.py).
pytest_plugins = ["tests.cluster_fixtures"]

# `make test` runs the suite twice: against one server, then against a one-node Redis Cluster
# (TEST_REDIS_TOPOLOGY=cluster), which refuses every cross-slot command as a big one does.
TOPOLOGY = os.environ.get("TEST_REDIS_TOPOLOGY", "single")

MODERATOR_TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789ab"}
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"

redis_proc = factories.redis_proc(executable=redis_executable(), port=None)


def start_private_redis(datadir: Path, **settings: Any) -> RedisExecutor:
    """Start a Redis of a test's own, for tests that stop, pause or reconfigure it."""
    executor = RedisExecutor(
        executable=redis_executable(),
        databases=16,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=get_port(None),
        datadir=datadir,
        **settings,
    )
    executor.start()
    return executor


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """Give the URL of the Redis the suite runs against."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if TOPOLOGY == "cluster":
        return str(request.getfixturevalue("one_node_cluster").url)
    server = request.getfixturevalue("redis_proc")
    return f"redis://{server.host}:{server.port}/0"


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """Give each test keys of its own, so suites may share one Redis; remove every key under it
    (and under the prefixes made from it) afterwards, whichever client wrote them."""
    prefix = f"test-{secrets.token_hex(4)}"
    yield prefix
    client: Any = connect(redis_url, Timeouts(), decode_responses=True)
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
    except redis.RedisError:
        pass  # a test that took the suite's server away leaves nothing to remove
    finally:
        client.close()


@pytest.fixture
def redis_client(redis_url: str, key_prefix: str) -> Iterator[redis.Redis]:
    """Give a raw client for asserting on stored state (a cluster client on a cluster); the
    test's keys go with `key_prefix`."""
    client: Any = connect(redis_url, Timeouts(), decode_responses=True)
    yield client
    client.close()


def app_config(redis_url: str, key_prefix: str, **overrides: Any) -> dict[str, Any]:
    """Settings for a test app."""
    return {
        "redis_url": redis_url,
        "key_prefix": key_prefix,
        "secret_key": SECRET_KEY,
        "moderator_tokens": ",".join(f"{n}:{t}" for n, t in MODERATOR_TOKENS.items()),
        "redis_socket_timeout": 1.0,
        "redis_connect_timeout": 0.5,
        "redis_retries": 1,
        # Most tests post many comments from one address; tests of these rules turn them on.
        "flood_interval": 0,
        # Test clients come from 127.0.0.1; the tests of the flood rule must see it apply.
        "flood_exempts_loopback": False,
        "rate_limits": "",
        **overrides,
    }


def close_app(app: Flask) -> None:
    """Close an app's Redis client, so no socket outlives its test."""
    app.extensions[EXTENSION].store.client.close()


@pytest.fixture
def app(redis_url: str, key_prefix: str, redis_client: redis.Redis) -> Iterator[Flask]:
    """Build the service against the test Redis."""
    app = create_app(app_config(redis_url, key_prefix))
    yield app
    close_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Give an HTTP client for the app."""
    return app.test_client()


@pytest.fixture
def moderator() -> dict[str, str]:
    """Give the headers of moderator alice."""
    return {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}


def start_gunicorn(
    redis_url: str, key_prefix: str, port: int, log: Path, **overrides: Any
) -> subprocess.Popen[bytes]:
    """Start the service under gunicorn, as deployed, with test settings; log to a file (an
    unread pipe could fill and stall it). The caller waits for it to answer."""
    config = app_config(redis_url, key_prefix, **overrides)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        **{f"COMMENTS_{name.upper()}": str(value) for name, value in config.items()},
    }
    env.pop("COMMENTS_REDIS_URL")
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "service.wsgi:app"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def stop_gunicorn(server: subprocess.Popen[bytes]) -> None:
    """Stop a server started by `start_gunicorn`."""
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def live_server(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[str]:
    """Run the service under gunicorn, as deployed; give its base URL."""
    port = get_port(None)
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(redis_url, key_prefix, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(base, server, log)
        yield base
    finally:
        stop_gunicorn(server)


ClientFactory = Callable[..., FlaskClient]


@pytest.fixture
def make_client(
    redis_url: str, key_prefix: str, redis_client: redis.Redis
) -> Iterator[ClientFactory]:
    """Build clients of apps with some settings turned on, all on this test's key prefix."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> FlaskClient:
        apps.append(create_app(app_config(redis_url, key_prefix, **overrides)))
        return apps[-1].test_client()

    yield build
    for app in apps:
        close_app(app)


def wait_until_answers(base: str, server: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Wait for a freshly started server to answer /healthz; fail with its log if it dies."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    output = log.read_text(errors="replace") if log else "(see its log)"
    pytest.fail(f"the server did not come up:\n{output}")


@pytest.fixture
def cli_env(
    redis_url: str,
    key_prefix: str,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Point the `news-comments` command at the test's Redis and prefix, from the environment
    (and at an empty var/, so that no `make run` of this checkout is found)."""
    for name in list(os.environ):
        if name.startswith("COMMENTS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(tmp_path / "no-make-run"))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("COMMENTS_KEY_PREFIX", key_prefix)
    monkeypatch.setenv("COMMENTS_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv(
        "COMMENTS_MODERATOR_TOKENS", ",".join(f"{n}:{t}" for n, t in MODERATOR_TOKENS.items())
    )
