"""Status codes, content types, body sizes and the one error shape, under test and gunicorn."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service.keys import Keys
from tests.conftest import ClientFactory
from tests.helpers import reply

URL = "/api/v1/articles/article-1/comments"


def keys_of(redis_client: redis.Redis, key_prefix: str) -> list[str]:
    """Name the test's keys, but the secret key's check value gunicorn's start check writes."""
    seal = Keys(key_prefix).key_check()
    return sorted(key for key in redis_client.scan_iter(match=f"{key_prefix}:*") if key != seal)


def assert_error_shape(body: dict[str, object], code: int) -> None:
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert set(body) <= {"code", "status", "message", "errors"}


def test_submission_answers_202_with_location(client: FlaskClient) -> None:
    response = client.post(URL, json=reply(email="private@example.com"))
    assert response.status_code == 202
    body = response.get_json()
    assert body["message"] == "Your comment is awaiting moderation."
    assert body["comment"]["status"] == "pending"
    assert response.headers["Location"] == f"{URL}/{body['comment']['id']}"
    assert "private@example.com" not in response.get_data(as_text=True)
    # Until a moderator approves it, the comment's own address is a 404.
    assert client.get(response.headers["Location"]).status_code == 404


def test_form_body_is_accepted(client: FlaskClient, moderator: dict[str, str]) -> None:
    response = client.post(
        URL,
        data={"name": "Form Reader", "email": "form@example.com", "website": "", "body": "Hi"},
    )
    assert response.status_code == 202, response.get_json()
    comment = response.get_json()["comment"]
    assert comment["website"] is None
    item = client.get(f"/api/v1/moderation/comments/{comment['id']}", headers=moderator)
    assert item.get_json()["email"] == "form@example.com"


def test_form_body_errors_are_keyed_by_form(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str
) -> None:
    response = client.post(URL, data={"name": "Form Reader", "email": "bad", "body": "Hi"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]["form"]) == ["email"]
    assert keys_of(redis_client, key_prefix) == []


@pytest.mark.parametrize(
    "raw", [b"{", b"not json", b'{"name": "x",}', b"\xff\xfe", b'["a list"]', b"null"]
)
def test_malformed_json_is_400_or_422(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, raw: bytes
) -> None:
    response = client.post(URL, data=raw, content_type="application/json")
    # Unparseable JSON is 400; valid JSON of the wrong shape is a validation error.
    expected = 422 if raw in (b'["a list"]', b"null") else 400
    assert response.status_code == expected
    assert_error_shape(response.get_json(), expected)
    assert keys_of(redis_client, key_prefix) == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", None],
)
def test_other_content_types_are_415(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str, content_type: str | None
) -> None:
    response = client.post(URL, data=json.dumps(reply()), content_type=content_type)
    assert response.status_code == 415
    assert_error_shape(response.get_json(), 415)
    assert keys_of(redis_client, key_prefix) == []


def test_body_over_64_kib_is_413(
    client: FlaskClient, redis_client: redis.Redis, key_prefix: str
) -> None:
    payload = json.dumps(reply(body="x" * 70_000))
    response = client.post(URL, data=payload, content_type="application/json")
    assert response.status_code == 413
    assert_error_shape(response.get_json(), 413)
    assert keys_of(redis_client, key_prefix) == []


def _chunked_post(base: str, path: str, body: bytes, content_type: str) -> tuple[int, dict]:
    target = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    chunks = (body[index : index + 4096] for index in range(0, len(body), 4096))
    connection.request(
        "POST", path, body=chunks, headers={"Content-Type": content_type}, encode_chunked=True
    )
    response = connection.getresponse()
    answer = (response.status, json.loads(response.read()))
    connection.close()
    return answer


def test_413_without_content_length_under_gunicorn(
    live_server: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    oversized = json.dumps(reply(body="x" * 70_000)).encode()
    status, body = _chunked_post(live_server, URL, oversized, "application/json")
    assert status == 413
    assert_error_shape(body, 413)
    assert keys_of(redis_client, key_prefix) == []

    fitting = json.dumps(reply(body="chunked but small")).encode()
    status, body = _chunked_post(live_server, URL, fitting, "application/json")
    assert status == 202
    assert body["comment"]["body"] == "chunked but small"


@pytest.mark.parametrize(
    "article_id",
    ["a" * 201, "has space", "semi;colon", "slash%2Fencoded", "brace{x}", "ümlaut", "a*b"],
)
def test_bad_article_ids_are_404(client: FlaskClient, article_id: str) -> None:
    for response in (
        client.get(f"/api/v1/articles/{article_id}/comments"),
        client.post(f"/api/v1/articles/{article_id}/comments", json=reply()),
    ):
        assert response.status_code == 404
        assert_error_shape(response.get_json(), 404)


@pytest.mark.parametrize("article_id", ["a", "a" * 200, "news:2026/x".replace("/", "-"), "A.b~c_d"])
def test_good_article_ids(client: FlaskClient, article_id: str) -> None:
    assert client.post(f"/api/v1/articles/{article_id}/comments", json=reply()).status_code == 202
    assert client.get(f"/api/v1/articles/{article_id}/comments").status_code == 200


def test_unknown_route_and_method_use_the_error_shape(client: FlaskClient) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.content_type == "application/json"
    assert_error_shape(missing.get_json(), 404)

    wrong_method = client.put(URL, json=reply())
    assert wrong_method.status_code == 405
    assert_error_shape(wrong_method.get_json(), 405)
    assert "POST" in wrong_method.headers["Allow"]


@pytest.mark.parametrize(
    "query",
    [
        "per_page=0",
        "per_page=101",
        "page=0",
        "page=-1",
        "sort=random",
        "page=abc",
    ],
)
def test_bad_list_queries_are_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 422
    assert_error_shape(response.get_json(), 422)
    assert "query" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "query",
    ["", "article_id=" + "&article_id=".join(f"a{n}" for n in range(101)), "article_id=bad%20id"],
)
def test_bad_counts_queries_are_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/v1/counts?{query}")
    assert response.status_code == 422
    assert_error_shape(response.get_json(), 422)


def test_openapi_document_describes_the_api(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    paths = document["paths"]
    for path in (
        "/api/v1/articles/{article_id}/comments",
        "/api/v1/counts",
        "/api/v1/moderation/comments",
        "/api/v1/moderation/comments/{comment_id}",
        "/api/v1/moderation/comments/{comment_id}/approve",
        "/api/v1/moderation/comments/{comment_id}/reject",
        "/api/v1/moderation/comments/{comment_id}/spam",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    post = paths["/api/v1/articles/{article_id}/comments"]["post"]
    assert "202" in post["responses"]
    assert set(post["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    body_schema = document["components"]["schemas"]["CommentCreate"]
    assert set(body_schema["properties"]) == {
        "name",
        "email",
        "website",
        "body",
        "parent_id",
        "subject",
    }


def test_unexpected_failure_is_500_in_the_error_shape(app: Flask) -> None:
    def broken() -> str:
        raise RuntimeError("a bug with a secret@example.com inside")

    app.add_url_rule("/broken-for-test", view_func=broken)
    response = app.test_client().get("/broken-for-test")
    assert response.status_code == 500
    assert_error_shape(response.get_json(), 500)
    assert "secret@example.com" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_moderation_and_export_answers_are_never_stored_by_caches(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    client.post(URL, json=reply(email="kept@example.com"))
    for path in (
        "/api/v1/moderation/comments",
        "/api/v1/moderation/stats",
        "/api/v1/moderation/privacy/export?email=kept@example.com",
    ):
        answer = client.get(path, headers=moderator)
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "no-store", path
        refused = client.get(path)
        assert refused.status_code == 401
        assert refused.headers["Cache-Control"] == "no-store", path
    export = client.get(
        "/api/v1/moderation/privacy/export?email=kept@example.com", headers=moderator
    ).get_json()
    assert [comment["email"] for comment in export["comments"]] == ["kept@example.com"]


def test_an_untrusted_host_is_never_echoed_in_a_redirect(make_client: ClientFactory) -> None:
    client = make_client(env="production", trusted_hosts="comments.example.com")
    # Werkzeug merges slashes with a 308 to an absolute URL built from the Host header.
    spoofed = client.get("/api/v1//counts", headers={"Host": "evil.example"})
    assert spoofed.status_code == 400
    assert_error_shape(spoofed.get_json(), 400)
    assert "Location" not in spoofed.headers
    assert "evil.example" not in spoofed.get_data(as_text=True)
    trusted = client.get("/api/v1//counts", headers={"Host": "comments.example.com"})
    assert trusted.status_code == 308
    assert trusted.headers["Location"] == "http://comments.example.com/api/v1/counts"
    # Health checks on loopback keep working.
    assert client.get("/healthz", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "localhost"}).status_code == 200
