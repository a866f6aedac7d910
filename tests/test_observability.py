"""Metrics, request ids and JSON request logs, with nothing personal in them."""

from __future__ import annotations

import json
import logging
import re
import socket
import urllib.request
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from port_for import get_port

from service.observability import JsonFormatter, client_network
from service.server_log import redact_client_addresses
from service.settings import SettingsError, load_settings
from service.topology import RedisClient
from tests.conftest import ClientFactory, start_gunicorn, stop_gunicorn, wait_until_answers
from tests.helpers import pending_ids, reply, submit

METRICS_TOKEN = "metrics-token-0123456789"


def test_request_ids_are_honoured_or_made(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "edge-42.abc"})
    assert given.headers["X-Request-ID"] == "edge-42.abc"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["X-Request-ID"] != "bad id with spaces"
    assert len(made.headers["X-Request-ID"]) == 16


def test_one_json_line_per_request_without_personal_data(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.access")
    response = client.post(
        "/api/v1/articles/article-1/comments",
        json=reply(email="logged@example.com"),
        headers={"X-Request-ID": "req-1"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert response.status_code == 202
    [record] = [r for r in caplog.records if r.name == "service.access"]
    with client.application.test_request_context(headers={"X-Request-ID": "req-1"}):
        from flask import g

        g.request_id = "req-1"
        line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/api/v1/articles/<article_id:article_id>/comments"
    assert line["status"] == 202 and line["method"] == "POST"
    assert line["client"] == "203.0.113.0/24"
    assert line["request_id"] == "req-1" and line["duration_ms"] >= 0
    assert "logged@example.com" not in json.dumps(line) and "203.0.113.77" not in json.dumps(line)


@pytest.mark.parametrize(
    ("address", "network"),
    [("198.51.100.7", "198.51.100.0/24"), ("2001:db8:1:2::5", "2001:db8:1::/48"), ("x", "")],
)
def test_only_the_network_of_a_client_is_logged(address: str, network: str) -> None:
    assert client_network(address) == network


def test_metrics_count_requests_submissions_and_the_queue(client: FlaskClient) -> None:
    submit(client)
    submit(client)
    client.get("/api/v1/articles/article-1/comments")
    body = client.get("/metrics").get_data(as_text=True)
    assert "comments_http_requests_total{" in body
    assert 'route="/api/v1/articles/<article_id:article_id>/comments",status="202"' in body
    assert 'comments_submissions_total{outcome="pending"}' in body
    assert "comments_http_request_seconds_bucket{" in body
    assert "comments_pending 2.0" in body
    assert "comments_oldest_pending_age_seconds" in body
    assert 'comments_spam_filter_learned{kind="spam"} 0.0' in body
    assert 'comments_spam_filter_learned{kind="legitimate"} 0.0' in body


def test_metrics_under_gunicorn_come_from_the_multiprocess_files(live_server: str) -> None:
    for _ in range(3):
        with urllib.request.urlopen(f"{live_server}/healthz") as answer:
            assert answer.status == 200
    with urllib.request.urlopen(f"{live_server}/metrics") as answer:
        body = answer.read().decode()
    # The start-up probe asked /healthz too: at least these three, all counted in one place.
    [count] = re.findall(
        r'comments_http_requests_total\{route="/healthz",status="200"\} (\S+)', body
    )
    assert float(count) >= 3


def test_readyz_is_ready_on_the_suites_redis_and_writes_nothing(
    client: FlaskClient, redis_client: RedisClient, key_prefix: str
) -> None:
    """Ready on one server and on a cluster (where every primary is asked its policy)."""
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "status": "ready",
        "redis": "ok",
        "maxmemory_policy": "noeviction",
    }
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*")) == []


def test_metrics_need_the_metrics_token_when_one_is_set(make_client: ClientFactory) -> None:
    client = make_client(metrics_token=METRICS_TOKEN)
    submit(client)
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": METRICS_TOKEN},
    ):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert refused.get_json() == {
            "code": 401,
            "status": "Unauthorized",
            "message": "The metrics token is required.",
        }
        assert "comments_submissions_total" not in refused.get_data(as_text=True)
    allowed = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200
    assert 'comments_submissions_total{outcome="pending"}' in allowed.get_data(as_text=True)
    assert "comments_pending 1.0" in allowed.get_data(as_text=True)


def test_production_without_a_metrics_token_shows_no_metrics(make_client: ClientFactory) -> None:
    client = make_client(env="production", trusted_hosts="localhost")
    submit(client)
    hidden = client.get("/metrics")
    assert hidden.status_code == 404
    assert hidden.get_json()["code"] == 404
    assert "comments_" not in hidden.get_data(as_text=True)
    # The rest of the service answers as usual.
    assert client.get("/healthz").status_code == 200


def test_production_with_a_metrics_token_serves_metrics_to_its_holder(
    make_client: ClientFactory,
) -> None:
    client = make_client(env="production", trusted_hosts="localhost", metrics_token=METRICS_TOKEN)
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200 and "comments_pending 0.0" in answer.get_data(as_text=True)


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(SettingsError, match="metrics_token"):
        load_settings({"metrics_token": "short"}, environ={})


def test_the_metrics_token_is_read_from_the_environment_only(tmp_path: Path) -> None:
    assert load_settings(environ={"COMMENTS_METRICS_TOKEN": METRICS_TOKEN}).metrics_token == (
        METRICS_TOKEN
    )
    (tmp_path / "defaults.toml").write_text(f'metrics_token = "{METRICS_TOKEN}"\n')
    (tmp_path / "development.toml").write_text("")
    with pytest.raises(SettingsError, match="metrics_token"):
        load_settings(environ={"COMMENTS_CONFIG_DIR": str(tmp_path)})


def test_queue_gauges_under_gunicorn_are_one_fresh_series(
    live_server: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    scrapes = []
    for _ in range(3):
        with urllib.request.urlopen(f"{live_server}/metrics") as answer:
            scrapes.append(answer.read().decode())
    for body in scrapes:
        # Never a per-process series from a gauge file (`comments_pending{pid="…"}`) beside it.
        assert re.findall(r"^comments_pending\b.*$", body, re.MULTILINE) == ["comments_pending 0.0"]
        assert len(re.findall(r"^comments_oldest_pending_age_seconds\b", body, re.MULTILINE)) == 1
    assert "pid=" not in scrapes[-1]
    # Read from the store at scrape time: a comment waiting now shows in the next scrape.
    submitted = urllib.request.Request(
        f"{live_server}/api/v1/articles/article-1/comments",
        data=json.dumps(reply()).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(submitted) as answer:
        assert answer.status == 202
    assert len(pending_ids(redis_client, key_prefix)) == 1
    with urllib.request.urlopen(f"{live_server}/metrics") as answer:
        body = answer.read().decode()
    assert re.findall(r"^comments_pending\b.*$", body, re.MULTILINE) == ["comments_pending 1.0"]


@pytest.mark.parametrize(
    ("message", "redacted"),
    [
        (
            "Invalid request from ip=203.0.113.77: Invalid HTTP method",
            "Invalid request from ip=203.0.113.0/24: Invalid HTTP method",
        ),
        (
            "Invalid request from ip=2001:db8:1:2::5: bad",
            "Invalid request from ip=2001:db8:1::/48: bad",
        ),
        ("from ip=[2001:db8:1:2::5]: bad", "from ip=2001:db8:1::/48: bad"),
        ("from ip=2001:db8::: bad", "from ip=2001:db8::/48: bad"),
        ("Listening at: http://127.0.0.1:8000 (7)", "Listening at: http://127.0.0.1:8000 (7)"),
    ],
)
def test_gunicorn_names_only_a_clients_network(message: str, redacted: str) -> None:
    assert redact_client_addresses(message) == redacted


def test_gunicorn_error_log_never_holds_a_full_client_address(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    port = get_port(None)
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(redis_url, key_prefix, port, log)
    try:
        wait_until_answers(f"http://127.0.0.1:{port}", server, log)
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(b"NOT A REQUEST\r\n\r\n")
            assert connection.recv(1024).startswith(b"HTTP/1.1 400")
    finally:
        stop_gunicorn(server)
    output = log.read_text()
    assert "Invalid request from ip=127.0.0.0/24" in output
    assert "ip=127.0.0.1" not in output
