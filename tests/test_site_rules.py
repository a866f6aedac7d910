"""What moderators set for the rules: closed articles, the block list, and the dry run."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.keys import Keys
from service.models import Status
from tests.conftest import MODERATOR_TOKENS, ClientFactory
from tests.helpers import decide, keyspace_mentions, reply, state_ids, stored_ids

ARTICLE = "article-1"
MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}
CLOSED = "Comments are closed for this article."
BLOCKED = "You cannot comment on this site."
RATE = "You have posted too many comments. Please wait before posting again."
FLOOD = "You are posting comments too quickly. Slow down."
AWAITING = "Your comment is awaiting moderation."
PUBLISHED = "Your comment is published."
DAY_MS = 86_400_000


def post(
    client: FlaskClient,
    payload: dict[str, Any],
    article_id: str = ARTICLE,
    peer: str | None = None,
) -> TestResponse:
    """Submit a reply as JSON, optionally from another socket peer."""
    environ = {"REMOTE_ADDR": peer} if peer else {}
    return client.post(
        f"/api/v1/articles/{article_id}/comments", json=payload, environ_base=environ
    )


def assert_refused(response: TestResponse, code: int, message: str) -> None:
    """Check a refusal's status and the one error shape with its message."""
    body = response.get_json()
    assert response.status_code == code, body
    assert (body["code"], body["message"]) == (code, message)


def article(client: FlaskClient, article_id: str = ARTICLE) -> dict[str, Any]:
    """Read an article's comment settings through the moderation API."""
    response = client.get(f"/api/v1/moderation/articles/{article_id}", headers=MODERATOR)
    assert response.status_code == 200, response.get_json()
    settings: dict[str, Any] = response.get_json()
    return settings


def item(client: FlaskClient, comment_id: str) -> dict[str, Any]:
    """Read one comment as moderators see it."""
    response = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
    assert response.status_code == 200, response.get_json()
    found: dict[str, Any] = response.get_json()
    return found


def article_key(key_prefix: str, article_id: str = ARTICLE) -> str:
    """Name an article's settings hash (in its bucket)."""
    return Keys(key_prefix).article(article_id)


def block_keys(redis_client: redis.Redis, key_prefix: str) -> list[str]:
    """Name the block list's stored sets."""
    return list(redis_client.scan_iter(match=f"{Keys(key_prefix).blocks('')}*"))


# --- 1. closed articles -------------------------------------------------------------------


def test_close_and_reopen_an_article(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Closed: 403 and nothing stored; reopened: accepted again; GET tells which."""
    client = make_client()
    closed = client.post(f"/api/v1/moderation/articles/{ARTICLE}/close", headers=MODERATOR)
    assert closed.status_code == 200
    assert closed.get_json()["closed"] is True
    assert closed.get_json()["closed_by_hand"] is True
    assert article(client)["closed"] is True
    assert redis_client.hget(article_key(key_prefix), "closed") == "1"

    response = post(client, reply())
    assert_refused(response, 403, CLOSED)
    assert stored_ids(redis_client, key_prefix) == []
    assert post(client, reply(), article_id="article-2").status_code == 202

    reopened = client.post(f"/api/v1/moderation/articles/{ARTICLE}/reopen", headers=MODERATOR)
    assert reopened.status_code == 200
    assert (reopened.get_json()["closed"], reopened.get_json()["closed_by_hand"]) == (False, False)
    assert article(client)["closed"] is False
    accepted = post(client, reply())
    assert accepted.status_code == 202
    assert accepted.get_json()["message"] == AWAITING
    assert len(stored_ids(redis_client, key_prefix)) == 2


def test_an_unknown_article_is_open(make_client: ClientFactory) -> None:
    """An article nobody touched reads as open, in the site's moderation mode."""
    assert article(make_client(), "never-seen") == {
        "article_id": "never-seen",
        "closed": False,
        "closed_by_hand": None,
        "closes_at": None,
        "moderation_mode": "all",
        "moderation_mode_override": None,
    }


def test_article_routes_need_a_token(make_client: ClientFactory) -> None:
    """Closing, reopening, reading and patching an article are for moderators only."""
    client = make_client()
    base = f"/api/v1/moderation/articles/{ARTICLE}"
    for method, url in [
        ("GET", base),
        ("PATCH", base),
        ("POST", f"{base}/close"),
        ("POST", f"{base}/reopen"),
    ]:
        response = client.open(url, method=method, json={"moderation_mode": "off"})
        assert response.status_code == 401, (method, url)
    assert post(client, reply()).status_code == 202


def test_the_first_comment_starts_the_closing_clock(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """close_after_days counts from the article's first comment, kept in its settings hash."""
    client = make_client(close_after_days=1)
    assert article(client)["closes_at"] is None
    before_ms = int(time.time() * 1000)
    post(client, reply())
    first_ms = int(redis_client.hget(article_key(key_prefix), "first_comment_ms") or 0)
    assert before_ms <= first_ms <= int(time.time() * 1000)
    post(client, reply())
    assert int(redis_client.hget(article_key(key_prefix), "first_comment_ms") or 0) == first_ms
    settings = article(client)
    assert settings["closed"] is False
    assert settings["closes_at"] is not None


@pytest.mark.parametrize(("age_days", "closed"), [(2, True), (1.01, True), (0.5, False)])
def test_close_after_days(
    make_client: ClientFactory,
    redis_client: redis.Redis,
    key_prefix: str,
    age_days: float,
    closed: bool,
) -> None:
    """An article whose first comment is older than close_after_days refuses comments."""
    client = make_client(close_after_days=1)
    first_ms = int(time.time() * 1000 - age_days * DAY_MS)
    redis_client.hset(article_key(key_prefix), "first_comment_ms", first_ms)
    response = post(client, reply())
    if closed:
        assert_refused(response, 403, CLOSED)
        assert stored_ids(redis_client, key_prefix) == []
    else:
        assert response.status_code == 202
    settings = article(client)
    assert settings["closed"] is closed
    assert settings["closed_by_hand"] is None
    assert settings["closes_at"] is not None


def test_close_after_days_zero_never_closes(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """With the setting off (0), even a years-old article stays open."""
    client = make_client(close_after_days=0)
    redis_client.hset(article_key(key_prefix), "first_comment_ms", 1)
    assert post(client, reply()).status_code == 202
    assert article(client)["closed"] is False


def test_a_reopened_old_article_stays_open(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """Reopening by hand overrides the age rule."""
    client = make_client(close_after_days=1)
    redis_client.hset(
        article_key(key_prefix), "first_comment_ms", int(time.time() * 1000) - 2 * DAY_MS
    )
    assert_refused(post(client, reply()), 403, CLOSED)
    reopened = client.post(f"/api/v1/moderation/articles/{ARTICLE}/reopen", headers=MODERATOR)
    assert reopened.get_json()["closed"] is False
    assert post(client, reply()).status_code == 202
    assert article(client)["closed"] is False
    # Closing by hand again still closes it.
    client.post(f"/api/v1/moderation/articles/{ARTICLE}/close", headers=MODERATOR)
    assert_refused(post(client, reply()), 403, CLOSED)


# --- 2. the block list --------------------------------------------------------------------


def block(client: FlaskClient, kind: str, value: str) -> TestResponse:
    """Add an entry to the block list."""
    return client.post(
        "/api/v1/moderation/blocks", json={"kind": kind, "value": value}, headers=MODERATOR
    )


def unblock(client: FlaskClient, kind: str, value: str) -> TestResponse:
    """Lift an entry of the block list."""
    return client.delete(
        "/api/v1/moderation/blocks", json={"kind": kind, "value": value}, headers=MODERATOR
    )


def test_block_list_add_list_and_lift(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """POST adds (normalized), GET lists, DELETE lifts and 404s when there is nothing."""
    client = make_client()
    assert block(client, "email", "Troll@Example.COM").status_code == 200
    assert block(client, "domain", "@Spam.Example").status_code == 200
    listed = block(client, "network", "10.1.2.3/8")
    assert listed.status_code == 200
    assert redis_client.smembers(Keys(key_prefix).blocks("networks")) == {"10.0.0.0/8"}
    expected = {"emails": ["Troll@example.com"], "domains": ["spam.example"]}
    assert listed.get_json() == {**expected, "networks": ["10.0.0.0/8"]}
    assert client.get("/api/v1/moderation/blocks", headers=MODERATOR).get_json() == {
        **expected,
        "networks": ["10.0.0.0/8"],
    }
    lifted = unblock(client, "network", "10.0.0.0/8")
    assert lifted.status_code == 200
    assert lifted.get_json()["networks"] == []
    assert unblock(client, "network", "10.0.0.0/8").status_code == 404
    assert unblock(client, "email", "troll@example.com").status_code == 200
    assert unblock(client, "domain", "spam.example").status_code == 200
    assert client.get("/api/v1/moderation/blocks", headers=MODERATOR).get_json() == {
        "emails": [],
        "domains": [],
        "networks": [],
    }
    assert block_keys(redis_client, key_prefix) == []


def test_block_list_needs_a_token(make_client: ClientFactory) -> None:
    """Reading or changing the block list without a token is 401."""
    client = make_client()
    body = {"kind": "domain", "value": "spam.example"}
    assert client.get("/api/v1/moderation/blocks").status_code == 401
    assert client.post("/api/v1/moderation/blocks", json=body).status_code == 401
    assert client.delete("/api/v1/moderation/blocks", json=body).status_code == 401


@pytest.mark.parametrize("email", ["troll@example.com", "TROLL@example.com", "Troll@EXAMPLE.COM"])
def test_a_blocked_email_is_refused_in_any_case(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, email: str
) -> None:
    """The block matches the address whatever its case; another address is fine."""
    client = make_client()
    block(client, "email", "Troll@Example.com")
    assert_refused(post(client, reply(email=email)), 403, BLOCKED)
    assert stored_ids(redis_client, key_prefix) == []
    assert post(client, reply(email="friend@example.com")).status_code == 202
    unblock(client, "email", email)
    assert post(client, reply(email=email)).status_code == 202


@pytest.mark.parametrize(
    ("email", "blocked"),
    [
        ("x@spam.example", True),
        ("x@SPAM.example", True),
        ("x@mail.spam.example", True),
        ("x@a.b.spam.example", True),
        ("x@notspam.example", False),
        ("x@spam.example.org", False),
        ("spam.example@good.example", False),
    ],
)
def test_a_blocked_domain_covers_its_subdomains(
    make_client: ClientFactory, email: str, blocked: bool
) -> None:
    """A domain blocks itself and its subdomains, not look-alikes."""
    client = make_client()
    block(client, "domain", "spam.example")
    response = post(client, reply(email=email))
    if blocked:
        assert_refused(response, 403, BLOCKED)
    else:
        assert response.status_code == 202


@pytest.mark.parametrize(
    ("domain", "email"),
    [
        ("BÜCHER.example", "x@bücher.example"),
        ("bücher.example", "x@xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "x@xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "x@mail.bücher.example"),
    ],
)
def test_a_blocked_international_domain_matches_either_spelling(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, domain: str, email: str
) -> None:
    """An IDN domain is one domain whether written in Unicode or in its xn-- (ASCII) form."""
    client = make_client()
    assert block(client, "domain", domain).status_code == 200
    assert_refused(post(client, reply(email=email)), 403, BLOCKED)
    assert stored_ids(redis_client, key_prefix) == []


@pytest.mark.parametrize("domain", [".spam.example", "spam.example.", "*.spam.example"])
def test_a_domain_entry_is_refused_or_effective(make_client: ClientFactory, domain: str) -> None:
    """An accepted domain entry must block its domain; one that never could is a 422."""
    client = make_client()
    response = block(client, "domain", domain)
    if response.status_code == 422:
        return
    assert response.status_code == 200
    assert_refused(post(client, reply(email="x@mail.spam.example")), 403, BLOCKED)


@pytest.mark.parametrize(
    ("network", "peer", "blocked"),
    [
        ("127.0.0.0/8", None, True),
        ("127.0.0.1/32", None, True),
        ("127.0.0.2/32", None, False),
        ("::1/128", None, False),
        ("2001:db8::/32", "2001:db8::7", True),
        ("2001:db8::/32", "2001:db9::7", False),
        ("2001:DB8:0:0::/48", "2001:db8::1:2", True),
        ("192.0.2.0/24", "192.0.2.200", True),
    ],
)
def test_a_blocked_network_refuses_its_addresses(
    make_client: ClientFactory, network: str, peer: str | None, blocked: bool
) -> None:
    """CIDR blocks, IPv4 and IPv6, match the client's address."""
    client = make_client()
    assert block(client, "network", network).status_code == 200
    response = post(client, reply(), peer=peer)
    if blocked:
        assert_refused(response, 403, BLOCKED)
    else:
        assert response.status_code == 202


@pytest.mark.parametrize(
    ("kind", "value", "fields", "peer", "reason"),
    [
        ("email", "spammer@example.com", {"email": "Spammer@example.com"}, None, "blocked email"),
        ("domain", "spam.example", {"email": "x@mail.spam.example"}, None, "blocked email domain"),
        ("network", "127.0.0.0/8", {}, None, "blocked network"),
        ("network", "2001:db8::/32", {}, "2001:db8::1", "blocked network"),
    ],
)
def test_blocked_action_spam_accepts_and_files_as_spam(
    make_client: ClientFactory,
    redis_client: redis.Redis,
    key_prefix: str,
    kind: str,
    value: str,
    fields: dict[str, str],
    peer: str | None,
    reason: str,
) -> None:
    """With blocked_action=spam the sender sees the usual 202; the comment is spam."""
    client = make_client(blocked_action="spam")
    block(client, kind, value)
    response = post(client, reply(**fields), peer=peer)
    assert response.status_code == 202
    assert response.get_json()["message"] == AWAITING
    assert response.get_json()["comment"]["status"] == "pending"
    stored = item(client, response.get_json()["comment"]["id"])
    assert (stored["status"], stored["reasons"]) == ("spam", [reason])
    assert state_ids(redis_client, key_prefix, Status.PENDING) == []
    assert state_ids(redis_client, key_prefix, Status.SPAM) == [stored["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "email", "value": "not-an-email"},
        {"kind": "email", "value": "a@localhost"},
        {"kind": "domain", "value": "nodot"},
        {"kind": "domain", "value": "bad domain.example"},
        {"kind": "domain", "value": "a@b.example"},
        {"kind": "network", "value": "300.1.1.1/8"},
        {"kind": "network", "value": "10.0.0.0/33"},
        {"kind": "network", "value": "example.com"},
        {"kind": "phone", "value": "+1 555 0100"},
        {"kind": "email", "value": ""},
        {"kind": "email"},
        {"value": "x@example.com"},
    ],
)
def test_invalid_block_entries_are_422(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str, body: dict[str, str]
) -> None:
    """Entries that are not an email, a domain or a network are refused; nothing is stored."""
    client = make_client()
    response = client.post("/api/v1/moderation/blocks", json=body, headers=MODERATOR)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == 422
    assert block_keys(redis_client, key_prefix) == []


def test_a_blocked_email_is_not_stored_in_plaintext(
    make_client: ClientFactory, redis_client: redis.Redis
) -> None:
    """The block list keeps a keyed hash and a sealed copy, never the address itself."""
    client = make_client(blocked_action="spam")
    local = f"hidden.troll.{secrets.token_hex(4)}"
    email = f"{local}@example.com"
    listed = block(client, "email", email)
    assert listed.get_json()["emails"] == [email]
    assert post(client, reply(email=email)).status_code == 202
    assert keyspace_mentions(redis_client, local) == []


# --- 15. the dry run ----------------------------------------------------------------------


def check(client: FlaskClient, headers: dict[str, str] | None = MODERATOR, **fields: Any) -> Any:
    """Ask what the rules would do with a sample submission."""
    body = {"article_id": ARTICLE, **reply(), **fields}
    return client.post("/api/v1/moderation/rules/check", json=body, headers=headers or {})


def all_keys(redis_client: redis.Redis, key_prefix: str) -> dict[str, bytes | None]:
    """Snapshot every key under the prefix with its serialized value."""
    return {key: redis_client.dump(key) for key in redis_client.scan_iter(f"{key_prefix}:*")}


def test_rules_check_needs_a_token(make_client: ClientFactory) -> None:
    """The dry run is for moderators only."""
    client = make_client()
    response = check(client, headers=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = check(client, headers={"Authorization": "Bearer not-a-moderator-token"})
    assert wrong.status_code == 401


def test_rules_check_of_a_closed_article(make_client: ClientFactory) -> None:
    """A closed article: refused with 403 and the reader's message."""
    client = make_client()
    client.post(f"/api/v1/moderation/articles/{ARTICLE}/close", headers=MODERATOR)
    response = check(client)
    assert response.status_code == 200
    assert response.get_json() == {
        "outcome": "refused",
        "code": 403,
        "message": CLOSED,
        "reasons": ["closed"],
        "retry_after": None,
        "spam_score": None,
        "offensive_score": None,
    }


@pytest.mark.parametrize(
    ("settings", "fields", "expected"),
    [
        (
            {},
            {"subject": "bot"},
            ("spam", 202, AWAITING, ["honeypot field filled"]),
        ),
        (
            {"moderation_words": "refund"},
            {"body": "I want a refund"},
            ("pending", 202, AWAITING, ["moderation word (refund)"]),
        ),
        (
            {"max_links": 2, "moderation_mode": "off"},
            {"body": "http://a.example http://b.example"},
            ("pending", 202, AWAITING, ["2 links (holding at 2)"]),
        ),
        (
            {"moderation_mode": "off"},
            {},
            ("approved", 201, PUBLISHED, ["moderation off"]),
        ),
        (
            {"blocked_action": "spam"},
            {"ip": "127.0.0.1", "email": "x@spam.example"},
            ("spam", 202, AWAITING, ["blocked email domain"]),
        ),
        (
            {},
            {"email": "x@spam.example"},
            ("refused", 403, BLOCKED, ["blocked"]),
        ),
        (
            {},
            {},
            ("pending", 202, AWAITING, []),
        ),
    ],
)
def test_rules_check_outcomes_store_nothing(
    make_client: ClientFactory,
    redis_client: redis.Redis,
    key_prefix: str,
    settings: dict[str, Any],
    fields: dict[str, Any],
    expected: tuple[str, int, str, list[str]],
) -> None:
    """Each outcome with its code, message and reasons; the store is left as it was."""
    client = make_client(**settings)
    block(client, "domain", "spam.example")
    before = all_keys(redis_client, key_prefix)
    response = check(client, **fields)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    outcome, code, message, reasons = expected
    assert (result["outcome"], result["code"], result["message"]) == (outcome, code, message)
    assert result["reasons"] == reasons
    assert result["retry_after"] is None
    assert all_keys(redis_client, key_prefix) == before
    assert stored_ids(redis_client, key_prefix) == []


def test_rules_check_of_a_trusted_commenter(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """An email with an approved comment would be published at once in trusted mode."""
    client = make_client(moderation_mode="trusted", trusted_after_approved=1)
    first = post(client, reply(email="trusty@example.com")).get_json()["comment"]
    decide(client, MODERATOR, first["id"], "approve")
    before = all_keys(redis_client, key_prefix)
    result = check(client, email="trusty@Example.com").get_json()
    # The learning spam filter abstains (nothing learned); the offensive score is the model's.
    assert result.pop("spam_score") is None
    result.pop("offensive_score")
    assert result == {
        "outcome": "approved",
        "code": 201,
        "message": PUBLISHED,
        "reasons": ["trusted commenter (1 approved before)"],
        "retry_after": None,
    }
    assert check(client, email="new@example.com").get_json()["outcome"] == "pending"
    assert all_keys(redis_client, key_prefix) == before


def test_rules_check_does_not_consume_the_rate_limit(
    make_client: ClientFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    """With 1/minute, two checks leave the real POST its one comment; then checks see 429."""
    client = make_client(rate_limits="1/minute", flood_interval=0)
    for _ in range(2):
        assert check(client).get_json()["outcome"] == "pending"
    assert post(client, reply()).status_code == 202
    result = check(client).get_json()
    assert (result["outcome"], result["code"], result["message"]) == ("refused", 429, RATE)
    assert result["reasons"] == ["rate_limit"]
    assert 0 < result["retry_after"] <= 60
    # Another address, as the check's `ip` gives it, is not limited.
    assert check(client, ip="198.51.100.9").get_json()["outcome"] == "pending"
    assert len(stored_ids(redis_client, key_prefix)) == 1


def test_rules_check_sees_the_flood_and_the_ip(make_client: ClientFactory) -> None:
    """The check applies the flood rule and the block list to the `ip` it is given."""
    client = make_client(flood_interval=15)
    assert post(client, reply(email="quick@example.com")).status_code == 202
    flood = check(client, email="quick@example.com", ip="198.51.100.1").get_json()
    assert (flood["outcome"], flood["code"], flood["message"]) == ("refused", 429, FLOOD)
    assert 1 <= flood["retry_after"] <= 15
    block(client, "network", "203.0.113.0/24")
    blocked = check(client, ip="203.0.113.9").get_json()
    assert (blocked["outcome"], blocked["code"]) == ("refused", 403)
    assert check(client, ip="198.51.100.2").get_json()["outcome"] == "pending"
    assert check(client, ip="not-an-ip").status_code == 422
