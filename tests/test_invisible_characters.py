"""Invisible and direction-changing characters: refused where they could deceive a reader."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.helpers import reply

URL = "/api/v1/articles/article-1/comments"
NOT_ALLOWED = "Contains a character that is not allowed (U+{:04X})."
DIRECTION = "Contains a direction-changing character that is not allowed (U+{:04X})."
INVISIBLE = "Contains an invisible character that is not allowed (U+{:04X})."
NO_LETTER = "Use at least one visible letter or digit."
STACKED = "Use at most 4 combining marks on one letter."


def stored_keys(redis_client: redis.Redis, key_prefix: str) -> list[str]:
    """Every key under the test's prefix."""
    return sorted(redis_client.scan_iter(match=f"{key_prefix}:*"))


def assert_field_refused(
    client: FlaskClient,
    redis_client: redis.Redis,
    key_prefix: str,
    payload: dict[str, Any],
    field: str,
    message: str,
) -> None:
    """A 422 naming only `field` with `message`, and nothing stored."""
    before = stored_keys(redis_client, key_prefix)
    response = client.post(URL, json=payload)
    body = response.get_json()
    assert response.status_code == 422, body
    assert (body["code"], body["status"]) == (422, "Unprocessable Entity")
    assert body["errors"] == {"json": {field: [message]}}
    assert stored_keys(redis_client, key_prefix) == before


def accepted(client: FlaskClient, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit a valid reply; give the comment of the answer."""
    response = client.post(URL, json=payload)
    assert response.status_code == 202, response.get_json()
    comment: dict[str, Any] = response.get_json()["comment"]
    return comment


@pytest.mark.parametrize(
    ("website", "char"),
    [
        ("https://example.com/a\x00b", 0x00),
        ("https://example.com/\x07", 0x07),
        ("https://example.com/\u202egpj.exe", 0x202E),
        ("https://exa\u200bmple.com/", 0x200B),
        ("https://example.com/\ufeff", 0xFEFF),
        ("https://example.com/soft\u00adhyphen", 0x00AD),
        ("https://example.com/\u2066x\u2069", 0x2066),
        ("https://example.com/a\u00a0b", 0x00A0),
        ("https://example.com/a\u2028b", 0x2028),
    ],
)
def test_a_website_refuses_control_format_and_space_characters(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, website: str, char: int
) -> None:
    """NUL, BEL, bidi and zero-width characters never reach the link under a name."""
    assert_field_refused(
        client,
        redis_client,
        key_prefix,
        reply(website=website),
        "website",
        NOT_ALLOWED.format(char),
    )


@pytest.mark.parametrize("char", [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
def test_the_text_refuses_bidi_embeddings_overrides_and_isolates(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, char: int
) -> None:
    """Such a character would make a link, or any text after it, read in another order."""
    body = f"Read https://example.com/{chr(char)}gpj.exe now"
    assert_field_refused(
        client, redis_client, key_prefix, reply(body=body), "body", DIRECTION.format(char)
    )


def test_the_text_keeps_right_to_left_writing_and_direction_marks(client: FlaskClient) -> None:
    """Arabic or Hebrew text, and the LRM/RLM marks writers use, are fine."""
    body = (
        "\u0645\u0631\u062d\u0628\u0627 \u200fhttps://example.com/\u200e \u05e9\u05dc\u05d5\u05dd"
    )
    comment = accepted(client, reply(body=body))
    assert comment["body"] == body
    assert 'href="https://example.com/"' in comment["body_html"]


@pytest.mark.parametrize("invisible", ["\u200b", "\u2060", "\ufeff", "\u00ad"])
def test_a_link_in_the_text_ends_at_an_invisible_character(
    client: FlaskClient, invisible: str
) -> None:
    """A zero-width character can be written, but it is never part of a link's address."""
    comment = accepted(client, reply(body=f"See https://exa{invisible}mple.com/ today"))
    assert comment["body_html"] == (
        '<p>See <a href="https://exa" rel="nofollow ugc noopener">https://exa</a>'
        f"{invisible}mple.com/ today</p>"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\u3164", INVISIBLE.format(0x3164)),
        ("\u3164\u3164\u3164", INVISIBLE.format(0x3164)),
        ("\u2800", INVISIBLE.format(0x2800)),
        ("\u115f", INVISIBLE.format(0x115F)),
        ("\u1160", INVISIBLE.format(0x1160)),
        ("\uffa0", INVISIBLE.format(0xFFA0)),
        ("Ann\u3164", INVISIBLE.format(0x3164)),
        ("...", NO_LETTER),
        ("\U0001f600", NO_LETTER),
        ("\u0301\u0301", NO_LETTER),
        ("Z" + "\u0336" * 5, STACKED),
        ("Zalgo" + "\u0336\u0337\u0338" * 10, STACKED),
    ],
)
def test_a_name_needs_something_visible_and_no_stack_of_accents(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, name: str, message: str
) -> None:
    """Only-invisible letters, no letter at all, or 5+ marks on one letter: refused."""
    assert_field_refused(client, redis_client, key_prefix, reply(name=name), "name", message)


@pytest.mark.parametrize(
    "name",
    [
        "Nguy\u1ec5n V\u0103n A",
        "\u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f",
        "\ud55c\uad6d\uc778",
        "Z" + "\u0336" * 4,
        "R2-D2",
        "\U0001f600 Emoji Fan",
    ],
)
def test_names_in_any_script_are_still_fine(client: FlaskClient, name: str) -> None:
    """Vietnamese, Devanagari, Hangul syllables, a few marks, digits: all accepted."""
    assert accepted(client, reply(name=name))["name"] == name
