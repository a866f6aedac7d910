"""`make run`: its embedded Redis (persistent, never evicting, private), `news-comments serve`."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from port_for import get_port

from service.cli import _secret_file, start_embedded_redis
from tests.conftest import start_gunicorn, wait_until_answers


def test_embedded_redis_keeps_comments_across_restarts(tmp_path: Path) -> None:
    process, url = start_embedded_redis(tmp_path)
    try:
        client = redis.Redis.from_url(url, decode_responses=True)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        client.set("comments:probe", "kept")
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)

    process, url = start_embedded_redis(tmp_path)
    try:
        with redis.Redis.from_url(url) as client:
            assert client.get("comments:probe") == b"kept"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_embedded_redis_files_are_for_the_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "redis"
    process, url = start_embedded_redis(data_dir)
    try:
        client = redis.Redis.from_url(url)
        client.set("comments:probe", "sealed")
        client.bgrewriteaof()
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    written = [path for path in data_dir.rglob("*")]
    assert any(path.name.endswith(".aof") for path in written), written
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))


def test_secrets_under_var_are_created_for_the_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A permissive umask, and no chmod after the fact: the file must be born 0600.
    chmodded: list[Path] = []
    monkeypatch.setattr(Path, "chmod", lambda self, mode: chmodded.append(self))
    previous = os.umask(0)
    try:
        secret = _secret_file(tmp_path / "var" / "secret_key", "made-now")
    finally:
        os.umask(previous)
    path = tmp_path / "var" / "secret_key"
    assert secret == "made-now"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == "made-now\n"
    # Kept, not made again, on the next start.
    assert _secret_file(path, "other") == "made-now"
    assert chmodded == []


# --- `news-comments serve`, as `make run` starts it ---------------------------------------------


def start_serve(var_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start `news-comments serve` in a session of its own (as a terminal would run it), with
    its embedded Redis and var/ in `var_dir`; its output goes to `log`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COMMENTS_", "GUNICORN_", "PROMETHEUS_"))
        and name not in ("REDIS_URL", "HOST", "PORT")
    }
    env.update(COMMENTS_VAR_DIR=str(var_dir), PORT=str(port), WEB_CONCURRENCY="1")
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_serve(server: subprocess.Popen[bytes]) -> int:
    """Stop a server started by `start_serve` as SIGTERM would; give its exit code."""
    if server.poll() is None:
        server.terminate()
    return server.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """A running `news-comments serve`: its base URL, its process and its output."""
    port = get_port(None)
    log = tmp_path / "serve.log"
    server = start_serve(tmp_path / "var", port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(base, server, log)
        yield base, server, log
    finally:
        stop_serve(server)


def test_a_second_serve_in_the_same_folder_refuses_in_one_line(
    served: tuple[str, subprocess.Popen[bytes], Path], tmp_path: Path
) -> None:
    base, first, _ = served
    second_log = tmp_path / "second.log"
    second = start_serve(tmp_path / "var", get_port(None), second_log)
    assert second.wait(timeout=30) == 1
    output = second_log.read_text()
    assert output.strip().splitlines() == [
        f"Another `news-comments serve` (make run) is already running from this folder "
        f"({tmp_path / 'var' / 'run.lock'} is locked); stop it first."
    ]
    # The first one goes on serving, alone.
    assert first.poll() is None
    with urllib.request.urlopen(f"{base}/healthz") as answer:
        assert answer.status == 200


def test_serve_on_a_port_another_program_holds_is_one_line_and_an_exit(tmp_path: Path) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        log = tmp_path / "serve.log"
        server = start_serve(tmp_path / "var", port, log)
        assert server.wait(timeout=30) == 1
    assert log.read_text().strip().splitlines() == [
        f"Port {port} on 127.0.0.1 is already in use by another program; "
        "stop it, or set PORT to another port."
    ]
    # Nothing was started: no Redis data, no secrets made.
    assert not (tmp_path / "var" / "redis").exists()


def test_gunicorn_on_a_port_another_program_holds_stops_at_once(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        log = tmp_path / "gunicorn.log"
        server = start_gunicorn(redis_url, key_prefix, port, log)
        assert server.wait(timeout=30) == 1
    output = log.read_text()
    assert f"Error: Port {port} on 127.0.0.1 is already in use by another program" in output
    assert "Booting worker" not in output


def test_ctrl_c_after_a_browser_visit_stops_gunicorn_then_the_redis(
    served: tuple[str, subprocess.Popen[bytes], Path], tmp_path: Path
) -> None:
    base, server, log = served
    port = int(base.rsplit(":", 1)[1])
    # What a browser leaves behind: kept-alive connections, and preconnected idle ones.
    kept_alive = []
    for path in ("/", "/embed.js", "/embed.css"):
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200 and not answer.will_close
        kept_alive.append(connection)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
    try:
        # Ctrl-C in a terminal: SIGINT to the whole foreground process group.
        os.killpg(server.pid, signal.SIGINT)
        # The test's own timeout, far above the few seconds it takes.
        assert server.wait(timeout=15) == 0
    finally:
        for connection in kept_alive:
            connection.close()
        for sock in idle:
            sock.close()
    output = log.read_text()
    assert "Perhaps out of memory" not in output and "SIGKILL" not in output, output
    # Gunicorn first, then the embedded Redis, told by `serve` (not by the terminal).
    assert output.index("Shutting down: Master") < output.index("Embedded Redis stopped.")
    redis_log = (tmp_path / "var" / "redis" / "server.log").read_text()
    assert "Received SIGTERM" in redis_log and "Received SIGINT" not in redis_log


def test_serve_names_its_pages_and_gunicorn_its_address(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    base, _, log = served
    output = log.read_text()
    assert f"  Demo article:     {base}/\n" in output
    assert f"  Moderation:       {base}/moderate" in output
    assert f"Listening at: {base} (" in output
    assert "Listening at:  (" not in output
