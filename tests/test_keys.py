"""Key names: one prefix, the article's hash tag on its keys, no email anywhere."""

from __future__ import annotations

import redis
from flask.testing import FlaskClient

from service.keys import Keys
from service.models import Status
from tests.helpers import publish


def test_raw_key_names() -> None:
    keys = Keys("comments")
    assert keys.comment("art-1", "c1") == "comments:{art-1}:comment:c1"
    assert keys.private("art-1", "c1") == "comments:{art-1}:private:c1"
    assert keys.article_status("art-1", Status.PENDING) == "comments:{art-1}:status:pending"
    assert keys.roots("art-1") == "comments:{art-1}:roots"
    assert keys.thread("art-1", "c1") == "comments:{art-1}:thread:c1"
    assert keys.live("art-1") == "comments:{art-1}:live"
    assert keys.queue(Status.SPAM) == "comments:{global}:status:spam"
    assert keys.locator() == "comments:{global}:locator"
    assert keys.published_counts() == "comments:{global}:published-counts"
    assert keys.version("art-1") == "comments:{art-1}:version"
    assert keys.audit() == "comments:{global}:audit"
    assert keys.email_index("ab12") == "comments:{global}:email:ab12"


def test_stored_keys_follow_the_scheme(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    root = publish(client, moderator, "news:2026.x", email="keys@example.com")
    publish(client, moderator, "news:2026.x", parent_id=root["id"])
    names = sorted(redis_client.scan_iter(match=f"{key_prefix}:*"))
    assert names
    for name in names:
        tag = name.split(":", 1)[1]
        assert tag.startswith("{news:2026.x}:") or tag.startswith("{global}:"), name
        assert "keys@example.com" not in name and "@" not in name
    assert f"{key_prefix}:{{news:2026.x}}:thread:{root['id']}" in names
