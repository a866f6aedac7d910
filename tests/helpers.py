"""Small helpers the tests share: valid submissions and common flows through the HTTP API."""

from __future__ import annotations

import itertools
from typing import Any

import redis
from flask.testing import FlaskClient

_counter = itertools.count()


def reply(**fields: Any) -> dict[str, Any]:
    """Give a valid submission, with some fields replaced."""
    number = next(_counter)
    base = {"name": "Ann Reader", "email": f"ann{number}@example.com", "body": f"Comment {number}"}
    return {**base, **fields}


def submit(client: FlaskClient, article_id: str = "article-1", **fields: Any) -> dict[str, Any]:
    """Submit a reply and give its public view; fail loudly if it is not accepted."""
    response = client.post(f"/api/v1/articles/{article_id}/comments", json=reply(**fields))
    assert response.status_code == 202, response.get_json()
    comment: dict[str, Any] = response.get_json()["comment"]
    return comment


def decide(
    client: FlaskClient, headers: dict[str, str], comment_id: str, action: str, **body: Any
) -> dict[str, Any]:
    """Take a moderation decision and give the updated item."""
    response = client.post(
        f"/api/v1/moderation/comments/{comment_id}/{action}", headers=headers, json=body or None
    )
    assert response.status_code == 200, response.get_json()
    item: dict[str, Any] = response.get_json()
    return item


def publish(
    client: FlaskClient, headers: dict[str, str], article_id: str = "article-1", **fields: Any
) -> dict[str, Any]:
    """Submit and approve a reply; give its public view."""
    comment = submit(client, article_id, **fields)
    decide(client, headers, comment["id"], "approve")
    return comment


def listing(client: FlaskClient, article_id: str = "article-1", **query: Any) -> dict[str, Any]:
    """Read an article's published list."""
    response = client.get(f"/api/v1/articles/{article_id}/comments", query_string=query)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def keyspace_mentions(redis_client: redis.Redis, needle: str) -> list[str]:
    """Scan the whole keyspace; name every key whose name or stored value contains `needle`."""
    found = []
    for key in redis_client.scan_iter(count=1000):
        kind = redis_client.type(key)
        if kind == "string":
            values = [redis_client.get(key) or ""]
        elif kind == "hash":
            values = [item for pair in redis_client.hgetall(key).items() for item in pair]
        elif kind == "zset":
            values = redis_client.zrange(key, 0, -1)
        elif kind == "set":
            values = list(redis_client.smembers(key))
        elif kind == "list":
            values = redis_client.lrange(key, 0, -1)
        elif kind == "stream":
            entries = redis_client.xrange(key)
            values = [str(fields) for _, fields in entries]
        else:
            values = []
        if needle in key or any(needle in str(value) for value in values):
            found.append(key)
    return found
