"""The rules every submitted field follows, and that nothing is stored when one is broken."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.helpers import publish, reply

URL = "/api/v1/articles/article-1/comments"


def stored_keys(redis_client: redis.Redis, key_prefix: str) -> list[str]:
    return sorted(redis_client.scan_iter(match=f"{key_prefix}:*"))


def assert_refused(
    client: FlaskClient,
    redis_client: redis.Redis,
    key_prefix: str,
    field: str,
    payload: dict[str, Any],
) -> None:
    before = stored_keys(redis_client, key_prefix)
    response = client.post(URL, json=payload)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == 422
    assert body["status"] == "Unprocessable Entity"
    assert list(body["errors"]["json"]) == [field]
    assert stored_keys(redis_client, key_prefix) == before


def assert_accepted(client: FlaskClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(URL, json=payload)
    assert response.status_code == 202, response.get_json()
    comment: dict[str, Any] = response.get_json()["comment"]
    return comment


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("Ann", "Ann"),
        ("  Ann Reader  ", "Ann Reader"),
        ("Zoë Ångström", "Zoë Ångström"),
        ("Zoe\u0308", "Zoë"),  # decomposed e + diaeresis is stored in NFC
        ("李小龍", "李小龍"),
        ("محمد", "محمد"),
        ("A", "A"),
        ("x" * 100, "x" * 100),
        ("😀 Emoji Fan", "😀 Emoji Fan"),
    ],
)
def test_valid_names(client: FlaskClient, name: str, stored: str) -> None:
    assert assert_accepted(client, reply(name=name))["name"] == stored


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "x" * 101,
        "Ann\x00",
        "Ann\nReader",
        "Ann\tReader",
        "Ann\u200bReader",  # zero-width space
        "Ann\u200dReader",  # zero-width joiner
        "Ann\u202eredaeR",  # right-to-left override
        "\u2066Ann\u2069",  # bidi isolates
        "Ann\ufeff",  # zero-width no-break space
        "Ann\u2028Reader",  # line separator
        "Ann\x7f",
        None,
        42,
    ],
)
def test_invalid_names(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, name: object
) -> None:
    assert_refused(client, redis_client, key_prefix, "name", reply(name=name))


def test_missing_name(client: FlaskClient, redis_client: redis.Redis, key_prefix: str) -> None:
    payload = reply()
    del payload["name"]
    assert_refused(client, redis_client, key_prefix, "name", payload)


LOCAL_64 = "a" * 64
# 64 + 1 + 189 = 254 characters, every label at most 63 characters long.
EMAIL_254 = LOCAL_64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 57]) + ".com"
EMAIL_255 = LOCAL_64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 58]) + ".com"


@pytest.mark.parametrize(
    ("email", "normalized"),
    [
        ("reader@example.com", "reader@example.com"),
        ("Reader@EXAMPLE.COM", "Reader@example.com"),
        ("  reader@example.com  ", "reader@example.com"),
        ("reader+news@example.com", "reader+news@example.com"),
        ("first.last@sub.example.co.uk", "first.last@sub.example.co.uk"),
        ("user@bücher.de", "user@bücher.de"),
        ("user@xn--bcher-kva.de", "user@bücher.de"),
        ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@παράδειγμα.δοκιμή"),
        (EMAIL_254, EMAIL_254),
    ],
)
def test_valid_emails(
    client: FlaskClient, moderator: dict[str, str], email: str, normalized: str
) -> None:
    assert len(EMAIL_254) == 254
    comment = assert_accepted(client, reply(email=email))
    assert "email" not in comment
    item = client.get(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator)
    assert item.get_json()["email"] == normalized


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plainaddress",
        "reader@localhost",
        "reader@example",
        "Ann Reader <reader@example.com>",
        "<reader@example.com>",
        '"quoted"@example.com',
        '"john doe"@example.com',
        "reader@example.com\r\nBcc: victim@example.com",
        "reader@example.com\n",
        "reader@@example.com",
        "reader@exa mple.com",
        "reader@127.0.0.1",
        "reader@[127.0.0.1]",
        ".reader@example.com",
        "reader.@example.com",
        EMAIL_255,
        "a" * 300 + "@example.com",
        None,
        ["reader@example.com"],
    ],
)
def test_invalid_emails(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, email: object
) -> None:
    assert len(EMAIL_255) == 255
    assert_refused(client, redis_client, key_prefix, "email", reply(email=email))


@pytest.mark.parametrize(
    ("website", "stored"),
    [
        ("https://example.com", "https://example.com"),
        ("http://example.com/path?q=1#frag", "http://example.com/path?q=1#frag"),
        ("https://sub.example.co.uk/~me", "https://sub.example.co.uk/~me"),
        ("", None),
        ("   ", None),
        (None, None),
        ("https://example.com/" + "a" * 180, "https://example.com/" + "a" * 180),
    ],
)
def test_valid_websites(client: FlaskClient, website: str | None, stored: str | None) -> None:
    assert assert_accepted(client, reply(website=website))["website"] == stored


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "ftp://example.com",
        "mailto:reader@example.com",
        "data:text/html,<script>alert(1)</script>",
        "example.com",
        "//example.com",
        "https://",
        "https://exa mple.com",
        "https://example.com/" + "a" * 181,
        42,
    ],
)
def test_invalid_websites(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, website: object
) -> None:
    assert_refused(client, redis_client, key_prefix, "website", reply(website=website))


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        ("x", "x"),
        ("  padded  ", "padded"),
        ("line one\r\nline two", "line one\nline two"),
        ("tab\tinside", "tab\tinside"),
        ("y" * 5000, "y" * 5000),
        ("  " + "z" * 5000 + "\n\n", "z" * 5000),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
)
def test_valid_bodies(client: FlaskClient, body: str, stored: str) -> None:
    assert assert_accepted(client, reply(body=body))["body"] == stored


@pytest.mark.parametrize(
    "body",
    ["", "   ", "\n\t\n", "y" * 5001, "nul\x00byte", "bell\x07", None, {"text": "x"}],
)
def test_invalid_bodies(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, body: object
) -> None:
    assert_refused(client, redis_client, key_prefix, "body", reply(body=body))


@pytest.mark.parametrize(
    "field", ["status", "id", "created_at", "article_id", "approved", "avatar", "ip"]
)
def test_unknown_and_server_fields_refused(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, field: str
) -> None:
    assert_refused(client, redis_client, key_prefix, field, reply(**{field: "approved"}))


@pytest.mark.parametrize("parent_id", ["nope", "0" * 22, "0123456789abcdef012345"])
def test_parent_must_exist(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, parent_id: str
) -> None:
    assert_refused(client, redis_client, key_prefix, "parent_id", reply(parent_id=parent_id))


def test_parent_must_be_published_and_of_the_same_article(
    client: FlaskClient, moderator: dict[str, str], redis_client: redis.Redis, key_prefix: str
) -> None:
    pending = assert_accepted(client, reply())
    other_article = publish(client, moderator, "article-2")
    for parent in (pending, other_article):
        assert_refused(client, redis_client, key_prefix, "parent_id", reply(parent_id=parent["id"]))


def test_html_is_never_interpreted(client: FlaskClient) -> None:
    comment = assert_accepted(
        client,
        reply(body='<img src=x onerror=alert(1)> & "quotes"\n\nSee https://example.com/a_(b).'),
    )
    assert comment["body_html"] == (
        "<p>&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34;</p>"
        '<p>See <a href="https://example.com/a_(b)" rel="nofollow ugc noopener">'
        "https://example.com/a_(b)</a>.</p>"
    )


def test_line_breaks_and_links_in_body_html(client: FlaskClient) -> None:
    comment = assert_accepted(
        client, reply(body='First line\nhttp://x.example/?a=1&b="2"\n\n\nLast')
    )
    assert comment["body_html"] == (
        "<p>First line<br>\n"
        '<a href="http://x.example/?a=1&amp;b=" rel="nofollow ugc noopener">'
        "http://x.example/?a=1&amp;b=</a>&#34;2&#34;</p><p>Last</p>"
    )
