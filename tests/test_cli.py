"""`make run`'s embedded Redis: persistent, never evicting."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import redis

from service.cli import _secret_file, start_embedded_redis


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
