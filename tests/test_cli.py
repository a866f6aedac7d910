"""`make run`'s embedded Redis: persistent, never evicting."""

from __future__ import annotations

from pathlib import Path

import redis

from service.cli import start_embedded_redis


def test_embedded_redis_keeps_comments_across_restarts(tmp_path: Path) -> None:
    process, url = start_embedded_redis(tmp_path)
    try:
        client = redis.Redis.from_url(url, decode_responses=True)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        client.set("comments:probe", "kept")
    finally:
        process.terminate()
        process.wait(timeout=10)

    process, url = start_embedded_redis(tmp_path)
    try:
        assert redis.Redis.from_url(url).get("comments:probe") == b"kept"
    finally:
        process.terminate()
        process.wait(timeout=10)
