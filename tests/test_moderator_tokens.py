"""Moderator tokens: no guessable ones in production, slowed guessing, honest revocation."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service import EXTENSION
from service.cli import main
from service.settings import SettingsError, load_settings
from tests.conftest import MODERATOR_TOKENS, ClientFactory

SECRET = "s" * 40
STATS = "/api/v1/moderation/stats"
TOO_MANY = "Too many wrong moderator tokens from your address. Please wait."


def production(tokens: str) -> dict[str, str]:
    """The environment of a production start with these moderator tokens."""
    return {
        "COMMENTS_ENV": "production",
        "COMMENTS_SECRET_KEY": SECRET,
        "COMMENTS_MODERATOR_TOKENS": tokens,
        "COMMENTS_TRUSTED_HOSTS": "comments.example.com",
    }


def stats(client: FlaskClient, token: str | None, peer: str = "127.0.0.1") -> TestResponse:
    """Ask for the moderation stats with a token (or none), from a socket peer."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(STATS, headers=headers, environ_base={"REMOTE_ADDR": peer})


def failure_keys(redis_client: redis.Redis, key_prefix: str) -> list[str]:
    """Name the counters of wrong tokens, and the lock they set, under the test's prefix."""
    return list(redis_client.scan_iter(match=f"{key_prefix}:*sign-in-*"))


@pytest.mark.parametrize(
    "token",
    [
        "aaaaaaaaaaaaaaaa",
        "abcdefghijklmnop",
        "passwordpassword",
        "0123456789abcdef",
        "zyxwvutsrqponmlk",
        "abababababababababababab",
    ],
)
def test_production_refuses_a_token_that_is_easy_to_guess(token: str) -> None:
    """The error names the moderator and the rule, never the token."""
    with pytest.raises(SettingsError, match="'editor' is too easy to guess") as refused:
        load_settings(environ=production(f"editor:{token}"))
    assert token not in str(refused.value)


@pytest.mark.parametrize(
    "token",
    [
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(12),
        secrets.token_hex(16),
        "correct-horse-battery-staple",
    ],
)
def test_production_accepts_random_tokens(token: str) -> None:
    """A generated token passes, whatever alphabet made it."""
    settings = load_settings(environ=production(f"editor:{token}"))
    assert settings.moderator_tokens == {token: "editor"}


def test_development_keeps_only_the_length_rule() -> None:
    """A local instance may use a simple token; production may not."""
    settings = load_settings(environ={"COMMENTS_MODERATOR_TOKENS": "dev:aaaaaaaaaaaaaaaa"})
    assert settings.moderator_tokens == {"aaaaaaaaaaaaaaaa": "dev"}


def test_repeated_wrong_tokens_are_slowed_with_429(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """After the limit, every request from that client is 429, even with a right token."""
    client = make_client(moderator_failure_limits="3/minute")
    right = MODERATOR_TOKENS["alice"]
    for _ in range(3):
        assert stats(client, secrets.token_urlsafe(20)).status_code == 401
    assert failure_keys(redis_client, key_prefix)
    for token in (secrets.token_urlsafe(20), right):
        refused = stats(client, token)
        body = refused.get_json()
        assert refused.status_code == 429, body
        assert (body["code"], body["message"]) == (429, TOO_MANY)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client is not held back by this one.
    assert stats(client, right, peer="198.51.100.9").status_code == 200
    # Once the window passes (here: its counters and lock expire at once), the right token works.
    redis_client.delete(*failure_keys(redis_client, key_prefix))
    assert stats(client, right).status_code == 200


def test_the_wait_lasts_until_every_limit_lets_the_client_try_again(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """When the hour's limit is reached with the minute's, the client waits for the hour."""
    client = make_client(moderator_failure_limits="3/minute;3/hour")
    for _ in range(3):
        assert stats(client, secrets.token_urlsafe(20)).status_code == 401
    refused = stats(client, MODERATOR_TOKENS["alice"])
    assert refused.status_code == 429
    assert 3540 <= int(refused.headers["Retry-After"]) <= 3600
    [lock] = [key for key in failure_keys(redis_client, key_prefix) if ":sign-in-lock:" in key]
    assert lock.startswith(f"{key_prefix}:{{site}}:")
    assert 3540 <= int(redis_client.ttl(lock)) <= 3600


def test_an_ipv6_client_is_slowed_across_its_64(make_client: ClientFactory) -> None:
    """Rotating addresses within a /64 does not buy more guesses."""
    client = make_client(moderator_failure_limits="2/minute")
    for host in ("1", "2"):
        assert (
            stats(client, "wrong-token-0123456789", peer=f"2001:db8:5:5::{host}").status_code == 401
        )
    assert stats(client, "wrong-token-0123456789", peer="2001:db8:5:5::3").status_code == 429
    assert stats(client, MODERATOR_TOKENS["bob"], peer="2001:db8:5:6::1").status_code == 200


def test_the_default_limit_answers_429_long_before_200_guesses(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str
) -> None:
    """With the defaults (10 a minute), the eleventh wrong token is already refused."""
    codes = [stats(client, secrets.token_urlsafe(20)).status_code for _ in range(12)]
    assert codes == [401] * 10 + [429] * 2
    assert failure_keys(redis_client, key_prefix)


def test_requests_without_a_token_are_not_counted_as_guesses(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Opening the moderators' page before signing in is no guess."""
    client = make_client(moderator_failure_limits="2/minute")
    for _ in range(5):
        assert stats(client, None).status_code == 401
    assert failure_keys(redis_client, key_prefix) == []
    assert stats(client, MODERATOR_TOKENS["alice"]).status_code == 200


def environment_id(token: str) -> str:
    """The id `moderators list` shows for a token."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@pytest.mark.usefixtures("cli_env")
def test_revoke_says_which_environment_tokens_it_cannot_revoke(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Revoking alice, whose token lives in the environment, fails and says why."""
    alice = MODERATOR_TOKENS["alice"]
    assert main(["moderators", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{environment_id(alice)}  alice  from COMMENTS_MODERATOR_TOKENS" in listed
    assert alice not in listed

    assert main(["moderators", "revoke", "alice"]) == 1
    output = capsys.readouterr()
    assert "Revoked 0 token(s)." in output.out
    assert output.err.strip() == (
        f"Cannot revoke 1 token(s) of alice from COMMENTS_MODERATOR_TOKENS "
        f"({environment_id(alice)}): remove them there and restart the service."
    )
    assert stats(client, alice).status_code == 200

    assert main(["moderators", "revoke", environment_id(alice)]) == 1
    assert "Cannot revoke 1 token(s)" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
def test_revoke_removes_the_stored_tokens_and_still_fails_while_one_remains(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stored token goes; the exit status says the moderator can still sign in."""
    assert main(["moderators", "add", "bob"]) == 0
    stored = capsys.readouterr().out.strip().splitlines()[-1]
    assert stats(client, stored).status_code == 200
    assert main(["moderators", "revoke", "bob"]) == 1
    output = capsys.readouterr()
    assert "Revoked 1 token(s)." in output.out
    assert "Cannot revoke 1 token(s) of bob" in output.err
    assert stats(client, stored).status_code == 401
    assert stats(client, MODERATOR_TOKENS["bob"]).status_code == 200


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """Count the round trips to Redis made inside the block (each send of a connection is one)."""
    sent = [0]
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        original(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


def test_the_throttle_costs_a_right_token_at_most_one_round_trip(
    make_client: ClientFactory,
) -> None:
    """A client with no wrong tokens pays one round trip for the throttle with a token from the
    environment, none with a stored one (its check rides on the token's own lookup)."""
    throttled, unthrottled = make_client(), make_client(moderator_failure_limits="")
    stored = throttled.application.extensions[EXTENSION].moderators.create("carol")
    costs = {}
    for token in (MODERATOR_TOKENS["alice"], stored):
        spent = []
        for client in (throttled, unthrottled):
            assert stats(client, token).status_code == 200  # connections opened, scripts loaded
            with round_trips() as sent:
                assert stats(client, token).status_code == 200
            spent.append(sent[0])
        costs[token] = spent[0] - spent[1]
    assert costs == {MODERATOR_TOKENS["alice"]: 1, stored: 0}
