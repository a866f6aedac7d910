"""What a newcomer meets following the README: its embed example, its walk-through, CORS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from service.demo import DEMO_ARTICLE_ID
from service.settings import SettingsError, load_settings
from tests.conftest import ClientFactory
from tests.helpers import pending_ids, reply

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_embeds_the_demo_article() -> None:
    embedded = re.findall(r'data-article-id="([^"]+)"', README.read_text())
    assert embedded == [DEMO_ARTICLE_ID]


def walk_through(client: FlaskClient, address: str) -> list[int]:
    """The README's walk-through: a reply with curl, then one from the browser."""
    statuses = []
    for body in ("Be the first to comment!", "And now from the page."):
        answer = client.post(
            f"/api/v1/articles/{DEMO_ARTICLE_ID}/comments",
            json=reply(body=body),
            environ_base={"REMOTE_ADDR": address},
        )
        statuses.append(answer.status_code)
    return statuses


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_in_development_this_machine_is_not_held_to_the_flood_rule(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, address: str
) -> None:
    client = make_client(flood_interval=15, flood_exempts_loopback=True)
    assert walk_through(client, address) == [202, 202]
    assert len(pending_ids(redis_client, key_prefix)) == 2


def test_other_clients_are_still_held_to_the_flood_rule(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    client = make_client(flood_interval=15, flood_exempts_loopback=True)
    assert walk_through(client, "203.0.113.5") == [202, 429]
    assert len(pending_ids(redis_client, key_prefix)) == 1


def test_development_settings_exempt_loopback_and_production_refuses_it() -> None:
    assert load_settings(environ={}).flood_exempts_loopback is True
    with pytest.raises(SettingsError, match="flood_exempts_loopback"):
        load_settings(
            {
                "env": "production",
                "secret_key": "s" * 40,
                "moderator_tokens": "editor:editor-token-0123456789",
                "trusted_hosts": "comments.example.com",
                "flood_exempts_loopback": True,
            },
            environ={},
        )


@pytest.mark.parametrize(
    "origins", ["https://news.example", "https://news.example,https://other.example"]
)
def test_cors_headers_only_for_an_allowed_origin_and_vary_once(
    make_client: ClientFactory, origins: str
) -> None:
    client = make_client(cors_origins=origins)
    url = f"/api/v1/articles/{DEMO_ARTICLE_ID}/comments"
    cases = [
        ({}, None),
        ({"Origin": "https://evil.example"}, None),
        ({"Origin": "https://news.example"}, "https://news.example"),
    ]
    for headers, allowed in cases:
        for answer in (
            client.get(url, headers=headers),
            client.get("/api/v1/counts", query_string={"article_id": "a"}, headers=headers),
            client.post(url, json={"name": ""}, headers=headers),
        ):
            assert answer.headers.get("Access-Control-Allow-Origin") == allowed, headers
            assert answer.headers.getlist("Vary") == ["Origin"], headers
    preflight = client.options(
        url,
        headers={"Origin": "https://news.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert preflight.headers.getlist("Vary") == ["Origin"]
