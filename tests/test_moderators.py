"""Named moderators with tokens stored only as hashes, beside the configured ones."""

from __future__ import annotations

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service import EXTENSION
from service.cli import main
from tests.helpers import decide, keyspace_mentions, submit


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_stored_token_works_and_is_kept_only_as_a_hash(
    app: Flask, client: FlaskClient, redis_client: redis.Redis
) -> None:
    moderators = app.extensions[EXTENSION].moderators
    token = moderators.create("carol")
    assert len(token) >= 32
    comment = submit(client)
    item = decide(client, bearer(token), comment["id"], "approve")
    assert item["decided_by"] == "carol"
    assert keyspace_mentions(redis_client, token) == []
    [listed] = moderators.list()
    assert listed["name"] == "carol" and len(listed["id"]) == 12 and "token" not in listed


def test_revoking_by_name_or_id(app: Flask, client: FlaskClient) -> None:
    moderators = app.extensions[EXTENSION].moderators
    first, second = moderators.create("dave"), moderators.create("dave")
    other = moderators.create("erin")
    erin_id = next(token["id"] for token in moderators.list() if token["name"] == "erin")
    assert moderators.revoke(erin_id) == 1
    assert client.get("/api/v1/moderation/stats", headers=bearer(other)).status_code == 401
    assert client.get("/api/v1/moderation/stats", headers=bearer(first)).status_code == 200
    assert moderators.revoke("dave") == 2
    for token in (first, second):
        assert client.get("/api/v1/moderation/stats", headers=bearer(token)).status_code == 401
    assert moderators.revoke("nobody") == 0


def test_configured_tokens_keep_working(client: FlaskClient, moderator: dict[str, str]) -> None:
    assert client.get("/api/v1/moderation/stats", headers=moderator).status_code == 200
    assert client.get("/api/v1/moderation/stats", headers=bearer("x" * 40)).status_code == 401


@pytest.mark.usefixtures("cli_env")
def test_the_command_line_adds_lists_and_revokes(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["moderators", "add", "frank"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert client.get("/api/v1/moderation/stats", headers=bearer(token)).status_code == 200

    assert main(["moderators", "list"]) == 0
    listing_out = capsys.readouterr().out
    assert "frank" in listing_out and token not in listing_out

    assert main(["moderators", "revoke", "frank"]) == 0
    assert "Revoked 1 token(s)." in capsys.readouterr().out
    assert client.get("/api/v1/moderation/stats", headers=bearer(token)).status_code == 401
    assert main(["moderators", "revoke", "frank"]) == 1
