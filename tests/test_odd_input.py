"""Odd input is a 400 or 422 in the one error shape: never a 500, a 503 or a traceback."""

from __future__ import annotations

import logging

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.request_limits import MAX_JSON_DEPTH, json_depth_exceeds
from tests.conftest import MODERATOR_TOKENS
from tests.helpers import reply, stored_ids, submit

MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}


def assert_client_error(response: TestResponse, code: int) -> dict[str, object]:
    """Check a 4xx in the one error shape; give its body."""
    body = response.get_json()
    assert response.status_code == code, response.get_data()
    assert (body["code"], body["status"]) == (code, response.status.split(" ", 1)[1].title())
    return dict(body)


def assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing was logged as an error, and no record carries a traceback."""
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert [record for record in caplog.records if record.exc_info] == []


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("%C2%B2", "Not a valid integer."),
        ("%D9%A1%D9%A1x", "Not a valid integer."),
        ("abc", "Not a valid integer."),
        ("9" * 5000, "Not a valid integer."),
        (
            "1000000000000000000",
            "Must be greater than or equal to 1 and less than or equal to 1000000.",
        ),
        ("0", "Must be greater than or equal to 1 and less than or equal to 1000000."),
        ("-3", "Must be greater than or equal to 1 and less than or equal to 1000000."),
    ],
)
@pytest.mark.parametrize(
    "path", ["/articles/article-1/comments", "/api/v1/articles/article-1/comments"]
)
def test_page_numbers_are_bounded_on_the_page_and_in_the_api(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, path: str, page: str, message: str
) -> None:
    """A superscript digit or a huge number is a 422 naming the page, with Redis never asked."""
    caplog.set_level(logging.INFO)
    body = assert_client_error(client.get(f"{path}?page={page}"), 422)
    assert body["errors"] == {"query": {"page": [message]}}
    assert_no_error_logged(caplog)


def test_the_page_without_javascript_still_shows_a_valid_page(client: FlaskClient) -> None:
    """The last page allowed, and unrelated query parameters, are fine."""
    submit(client)
    for query in ("?page=1000000", "?page=2&utm_source=newsletter", "?posted"):
        response = client.get(f"/articles/article-1/comments{query}")
        assert response.status_code == 200, query
        assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/api/v1/moderation/audit", "99999999999999999999999-1"),
        ("/api/v1/moderation/audit", "1-18446744073709551616"),
        ("/api/v1/moderation/articles", "99999999999999999999999-article-1"),
        ("/api/v1/moderation/articles", "9" * 5000 + "-article-1"),
    ],
)
def test_moderators_cursors_are_bounded(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, path: str, cursor: str
) -> None:
    """A cursor Redis could not read is refused before Redis sees it, not answered 503."""
    caplog.set_level(logging.INFO)
    body = assert_client_error(
        client.get(path, query_string={"cursor": cursor}, headers=MODERATOR), 422
    )
    assert list(body["errors"]) == ["query"]
    assert_no_error_logged(caplog)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/articles/article-1/comments", {}),
        ("/api/v1/moderation/decisions", MODERATOR),
        ("/api/v1/moderation/privacy/erase", MODERATOR),
    ],
)
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_a_json_body_nested_1000_deep_is_a_400_without_a_traceback(
    client: FlaskClient,
    redis_client: redis.Redis,
    key_prefix: str,
    caplog: pytest.LogCaptureFixture,
    path: str,
    headers: dict[str, str],
    opener: str,
) -> None:
    """Python's parser would recurse out of stack: the body is refused before it parses."""
    caplog.set_level(logging.INFO)
    closer = "]" if opener == "[" else "}"
    body = opener * 1000 + "1" + closer * 1000
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    answer = assert_client_error(response, 400)
    assert answer["message"] == f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep."
    assert_no_error_logged(caplog)
    assert stored_ids(redis_client, key_prefix) == []


def test_brackets_inside_strings_do_not_count_as_nesting(client: FlaskClient) -> None:
    """A comment may be all brackets: only structure counts."""
    text = "[" * 2000 + "{" * 2000 + '\\"]'
    response = client.post("/api/v1/articles/article-1/comments", json=reply(body=text), headers={})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["comment"]["body"] == text


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b'{"a": "' + b"[" * 100 + b'"}', False),
        (b'["\\\\", ' + b"[" * 40 + b"]" * 40 + b"]", True),
        (b'["\\"' + b"[" * 40 + b'"]', False),
        (b"[]" * 1000, False),
    ],
)
def test_json_depth_counts_structure_only(body: bytes, deep: bool) -> None:
    """Escaped quotes and brackets in strings are read as JSON reads them."""
    assert json_depth_exceeds(body, MAX_JSON_DEPTH) is deep
