"""Client addresses in one spelling before blocks, flood marks, rate limits and storage."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.settings import SettingsError, load_settings
from tests.conftest import MODERATOR_TOKENS, ClientFactory
from tests.helpers import reply, stored_ids

ARTICLE = "article-1"
MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}
BLOCKED = "You cannot comment on this site."
FLOOD = "You are posting comments too quickly. Slow down."
RATE = "You have posted too many comments. Please wait before posting again."


def post(
    client: FlaskClient, peer: str | None = None, forwarded: str | None = None, **fields: Any
) -> TestResponse:
    """Submit a reply from a socket peer, optionally forwarded for another address."""
    return client.post(
        f"/api/v1/articles/{ARTICLE}/comments",
        json=reply(**fields),
        headers={"X-Forwarded-For": forwarded} if forwarded is not None else {},
        environ_base={"REMOTE_ADDR": peer} if peer else {},
    )


def stored_ip(client: FlaskClient, response: TestResponse) -> str:
    """Read the IP stored with an accepted comment, as moderators see it."""
    assert response.status_code == 202, response.get_json()
    comment_id = response.get_json()["comment"]["id"]
    found = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
    ip: str = found.get_json()["ip"]
    return ip


def assert_refused(response: TestResponse, code: int, message: str) -> None:
    """Check a refusal's status and the one error shape with its message."""
    body = response.get_json()
    assert response.status_code == code, body
    assert (body["code"], body["message"]) == (code, message)


def comment_count(redis_client: redis.Redis, key_prefix: str) -> int:
    """Count the stored comment records under the test's prefix."""
    return len(stored_ids(redis_client, key_prefix))


@pytest.mark.parametrize(
    ("forwarded", "ip"),
    [
        ("198.51.100.20:5555", "198.51.100.20"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("198.51.100.20:5555, 10.0.0.5:8080", "198.51.100.20"),
        ("198.51.100.20, [::ffff:10.0.0.5]:80", "198.51.100.20"),
    ],
)
def test_forwarded_hops_are_read_without_ports_and_in_one_spelling(
    make_client: ClientFactory, forwarded: str, ip: str
) -> None:
    """A port or another spelling in a hop neither hides the reader nor the trusted proxy."""
    client = make_client(trusted_proxies="127.0.0.1/32,10.0.0.0/8")
    assert stored_ip(client, post(client, forwarded=forwarded)) == ip


@pytest.mark.parametrize("peer", ["::ffff:203.0.113.9", "203.0.113.9"])
def test_an_ipv4_block_covers_the_ipv4_mapped_spelling(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, peer: str
) -> None:
    """A dual-stack socket shows IPv4 readers as ::ffff:a.b.c.d: the IPv4 block still holds."""
    client = make_client()
    blocked = client.post(
        "/api/v1/moderation/blocks",
        headers=MODERATOR,
        json={"kind": "network", "value": "203.0.113.0/24"},
    )
    assert blocked.status_code == 200
    assert_refused(post(client, peer=peer), 403, BLOCKED)
    assert comment_count(redis_client, key_prefix) == 0


def test_a_mapped_forwarded_hop_is_blocked_and_a_mapped_block_is_kept_as_ipv4(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """A block given in the mapped spelling is stored as the IPv4 network it means."""
    client = make_client(trusted_proxies="127.0.0.1/32")
    blocked = client.post(
        "/api/v1/moderation/blocks",
        headers=MODERATOR,
        json={"kind": "network", "value": "::ffff:203.0.113.0/120"},
    )
    assert blocked.get_json()["networks"] == ["203.0.113.0/24"]
    listed = client.get("/api/v1/moderation/blocks", headers=MODERATOR).get_json()
    assert listed["networks"] == ["203.0.113.0/24"]
    assert_refused(post(client, forwarded="[::ffff:203.0.113.9]:4444"), 403, BLOCKED)
    assert_refused(post(client, forwarded="203.0.113.9:4444"), 403, BLOCKED)
    assert comment_count(redis_client, key_prefix) == 0


def test_the_mapped_and_plain_spellings_are_one_client_for_the_flood_rule(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Switching spelling does not escape the flood mark."""
    client = make_client(flood_interval=15)
    assert stored_ip(client, post(client, peer="::ffff:198.51.100.7")) == "198.51.100.7"
    assert_refused(post(client, peer="198.51.100.7"), 429, FLOOD)
    assert comment_count(redis_client, key_prefix) == 1


def test_ipv6_clients_are_one_client_per_64_for_the_flood_rule(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Rotating addresses within a /64 meets the flood mark; another /64 is another client."""
    client = make_client(flood_interval=15)
    assert stored_ip(client, post(client, peer="2001:db8:1:2::1")) == "2001:db8:1:2::1"
    assert_refused(post(client, peer="2001:db8:1:2:ffff::99"), 429, FLOOD)
    assert stored_ip(client, post(client, peer="2001:db8:1:3::1")) == "2001:db8:1:3::1"
    assert comment_count(redis_client, key_prefix) == 2


def test_ipv6_clients_are_one_client_per_64_for_the_rate_limits(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """The rate limit counts the /64, not each address in it."""
    client = make_client(rate_limits="2/minute")
    for host in ("1", "2"):
        assert post(client, peer=f"2001:db8:7:7::{host}").status_code == 202
    assert_refused(post(client, peer="2001:db8:7:7::3"), 429, RATE)
    assert comment_count(redis_client, key_prefix) == 2


def test_a_prefix_length_of_128_counts_each_ipv6_address(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """With ipv6_prefix_length = 128 each address is a client of its own."""
    client = make_client(flood_interval=15, ipv6_prefix_length=128)
    assert post(client, peer="2001:db8:1:2::1").status_code == 202
    assert post(client, peer="2001:db8:1:2::2").status_code == 202
    assert_refused(post(client, peer="2001:db8:1:2:0::2"), 429, FLOOD)
    assert comment_count(redis_client, key_prefix) == 2


@pytest.mark.parametrize("length", ["0", "129", "sixty-four"])
def test_an_invalid_prefix_length_is_refused_at_start(length: str) -> None:
    """The prefix length is a number of bits, 1 to 128."""
    with pytest.raises(SettingsError, match="ipv6_prefix_length"):
        load_settings({"ipv6_prefix_length": length}, environ={})


def test_moderators_find_a_comment_by_either_spelling_of_its_ip(
    make_client: ClientFactory,
) -> None:
    """The queue's ip filter reads the address as submissions are read."""
    client = make_client()
    assert stored_ip(client, post(client, peer="::ffff:192.0.2.44")) == "192.0.2.44"
    for spelling in ("192.0.2.44", "::ffff:192.0.2.44"):
        found = client.get(
            "/api/v1/moderation/comments", query_string={"ip": spelling}, headers=MODERATOR
        )
        assert [comment["ip"] for comment in found.get_json()["comments"]] == ["192.0.2.44"]
