"""REDIS_URL picks the topology by its scheme; a wrong or unreachable one is a one-line error at
start, for the server and for every command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from service.topology import Timeouts, TopologyError, connect, redacted
from tests.conftest import app_config
from tests.servers import Cluster, Standalone, free_port


def run_command(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `news-comments` with REDIS_URL set, as an operator would."""
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("COMMENTS_")},
        "REDIS_URL": url,
        "COMMENTS_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("news-comments: "), lines[0]
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mongodb://127.0.0.1:1/0", "unknown scheme"),
        ("redis+cluster://127.0.0.1", "host:port"),
        ("redis+sentinel://127.0.0.1:26379", "name the service"),
    ],
)
def test_a_malformed_redis_url_is_one_line(url: str, fragment: str) -> None:
    assert_one_line_error(run_command(url, "purge"), fragment)


def test_nothing_answering_is_one_line_for_each_topology() -> None:
    port = free_port()
    for url in (
        f"redis://127.0.0.1:{port}/0",
        f"redis+cluster://:secret-password@127.0.0.1:{port}",
        f"redis+sentinel://127.0.0.1:{port}/comments",
    ):
        result = run_command(url, "retention")
        assert_one_line_error(result, f"127.0.0.1:{port}")
        assert "secret-password" not in result.stderr


def test_a_cluster_node_named_as_one_server_is_refused(one_node_cluster: Cluster) -> None:
    node = one_node_cluster.masters()[0]
    result = run_command(f"redis://127.0.0.1:{node.port}/0", "purge")
    assert_one_line_error(result, "names a node of a Redis Cluster", "redis+cluster://")


def test_one_server_named_as_a_cluster_is_refused(tmp_path: Path) -> None:
    with Standalone(tmp_path / "single") as server:
        address = server.url.split("//", 1)[1].split("/", 1)[0]
        assert_one_line_error(
            run_command(f"redis+cluster://{address}", "purge"), "no cluster answers"
        )


def test_the_server_refuses_to_start_on_a_wrong_topology(one_node_cluster: Cluster) -> None:
    node = one_node_cluster.masters()[0]
    env = {
        **os.environ,
        **{f"COMMENTS_{k.upper()}": str(v) for k, v in app_config("x", "topology").items()},
        "REDIS_URL": f"redis://127.0.0.1:{node.port}/0",
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
    }
    env.pop("COMMENTS_REDIS_URL")
    from service.cli import GUNICORN_CONFIG

    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "service.wsgi:app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "news-comments: REDIS_URL" in result.stderr
    assert "names a node of a Redis Cluster" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cluster_scheme_reaches_the_cluster(
    one_node_cluster: Cluster, cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", one_node_cluster.url)
    assert main(["purge"]) == 0
    client = connect(one_node_cluster.url, Timeouts())
    assert client.ping()
    client.close()


def test_passwords_never_show_in_errors() -> None:
    assert redacted("redis+cluster://:hunter2@h:1,h:2") == "redis+cluster://:***@h:1,h:2"
    with pytest.raises(TopologyError) as error:
        connect(f"redis+cluster://:hunter2@127.0.0.1:{free_port()}", Timeouts(0.2, 0.2, 0))
    assert "hunter2" not in str(error.value)
