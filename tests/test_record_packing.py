"""`news-comments migrate-keys` packs a deployment's comments kept one hash each (with a private
data key and a duplicate fingerprint key beside it) into their articles' records, on one server
and on a cluster; the service refuses to run until it has; every view reads the same after."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from service import records
from service.cli import main
from service.key_migration import unpacked_layout_present
from service.keys import LAYOUT, Keys
from service.topology import RedisClient
from tests.helpers import (
    decide,
    listing,
    publish,
    stored_ids,
    stored_members,
    submit,
    unpack_records,
)

ARTICLE = "budget-2027"
DATA_RIGHTS = "/api/v1/moderation/privacy"


def views(client: FlaskClient, moderator: dict[str, str]) -> dict[str, Any]:
    """What readers and moderators see of the article."""
    queue = client.get("/api/v1/moderation/comments", headers=moderator).get_json()
    exported = client.get(
        f"{DATA_RIGHTS}/export", headers=moderator, query_string={"email": "kim@example.com"}
    ).get_json()
    return {
        "list": listing(client, ARTICLE),
        "queue": queue["comments"],
        "stats": client.get("/api/v1/moderation/stats", headers=moderator).get_json()["counts"],
        "export": exported["comments"],
    }


def test_comments_kept_one_hash_each_are_packed(
    client: FlaskClient,
    moderator: dict[str, str],
    redis_client: RedisClient,
    key_prefix: str,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = publish(client, moderator, ARTICLE, email="kim@example.com")
    reply = publish(client, moderator, ARTICLE, parent_id=root["id"], email="lee@example.com")
    removed = publish(client, moderator, ARTICLE, email="kim@example.com")
    publish(client, moderator, ARTICLE, parent_id=removed["id"])
    assert client.delete(f"/api/v1/moderation/comments/{removed['id']}", headers=moderator)
    edited = client.post(
        f"/api/v1/moderation/comments/{reply['id']}/edit", headers=moderator, json={"body": "New"}
    )
    assert edited.status_code == 200
    submit(client, ARTICLE, email="kim@example.com", body="Still waiting")
    decide(client, moderator, submit(client, ARTICLE)["id"], "reject")
    before = views(client, moderator)
    ids = stored_ids(redis_client, key_prefix)
    assert len(ids) == 6

    unpack_records(redis_client, key_prefix)
    assert stored_ids(redis_client, key_prefix) == []
    assert unpacked_layout_present(redis_client, key_prefix)
    with pytest.raises(SystemExit) as refused:
        main(["purge"])
    assert "before packed records" in str(refused.value)
    assert "news-comments migrate-keys" in str(refused.value)

    assert main(["migrate-keys"]) == 0
    assert "Packed 6 comment(s)" in capsys.readouterr().out
    assert not unpacked_layout_present(redis_client, key_prefix)
    assert redis_client.get(Keys(key_prefix).layout()) == LAYOUT
    assert stored_ids(redis_client, key_prefix) == ids
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:comment:*")) == []
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:private:*")) == []
    assert list(redis_client.scan_iter(match=f"{key_prefix}:*:duplicate:*")) == []
    assert views(client, moderator) == before
    # The placeholder keeps its place and nothing else; the duplicate rule still holds.
    placeholder = stored_members(redis_client, key_prefix, ARTICLE, removed["id"])
    assert placeholder["s"] == "deleted" and records.SEALED not in placeholder
    again = client.post(
        f"/api/v1/articles/{ARTICLE}/comments",
        json={"name": "Kim", "email": "kim@example.com", "body": "Still waiting"},
    )
    assert again.status_code == 409

    assert main(["migrate-keys"]) == 0
    assert "Nothing to move" in capsys.readouterr().out
    assert views(client, moderator) == before
