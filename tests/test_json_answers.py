"""JSON answers: the documented shapes without a schema dump, and orjson's edges handled as the
standard library did."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from service import EXTENSION
from service.models import Status
from service.schemas import CountsSchema, ModerationCommentSchema, SubmissionSchema
from tests.helpers import listing, publish, reply

NAME = "Zoë Ångström 東京"
BODY = "Grüße — „ein Test“ ✓ and a reply 🙂"


def test_a_submission_is_answered_in_the_documented_shape(client: FlaskClient) -> None:
    response = client.post("/api/v1/articles/article-1/comments", json=reply(name=NAME, body=BODY))
    assert response.status_code == 202
    answer = response.get_json()
    # What the schema would have dumped, key for key and in its order.
    as_given = {**answer, "comment": {**answer["comment"], "status": Status.PENDING}}
    dumped = SubmissionSchema().dump(as_given)
    assert answer == dumped
    assert list(answer) == list(dumped) == ["comment", "message", "published"]
    assert list(answer["comment"]) == list(dumped["comment"])
    assert answer["comment"]["status"] == "pending"
    assert answer["comment"]["name"] == NAME and answer["comment"]["body"] == BODY
    assert response.get_data().endswith(b"}\n")
    assert NAME.encode() in response.get_data()  # written as UTF-8, not \u escapes


def test_a_decision_is_answered_as_the_schema_dumps_the_stored_comment(
    app: Flask, client: FlaskClient, moderator: dict[str, str]
) -> None:
    comment = client.post(
        "/api/v1/articles/article-1/comments", json=reply(name=NAME, body=BODY)
    ).get_json()["comment"]
    response = client.post(
        f"/api/v1/moderation/comments/{comment['id']}/approve",
        headers=moderator,
        json={"reason": "Fine ✓"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    answer = response.get_json()
    with app.test_request_context():
        stored = app.extensions[EXTENSION].moderation.get(comment["id"])
    stored.pop("revisions")
    expected = ModerationCommentSchema().dump(stored)
    assert answer == expected
    assert list(answer) == list(expected)
    assert answer["status"] == "approved" and answer["reason"] == "Fine ✓"
    assert answer["email"].endswith("@example.com") and answer["decided_by"] == "alice"


def test_lists_and_counts_carry_any_text_as_utf8(
    client: FlaskClient, moderator: dict[str, str]
) -> None:
    publish(client, moderator, "article-9", name=NAME, body=BODY)
    page = listing(client, "article-9")
    assert [(c["name"], c["body"]) for c in page["comments"]] == [(NAME, BODY)]
    counts = client.get("/api/v1/counts?article_id=article-9&article_id=article-8")
    assert counts.get_json() == {"counts": {"article-9": 1, "article-8": 0}}
    assert counts.get_json() == CountsSchema().dump(counts.get_json())
    assert counts.get_data() == b'{"counts":{"article-9":1,"article-8":0}}\n'


def test_what_orjson_refuses_is_written_and_read_as_the_standard_library_does(app: Flask) -> None:
    provider = app.json
    # Integers past 64 bits and lone surrogates: orjson refuses them, json writes them.
    assert provider.dumps({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert provider.dumps({"s": "a\ud800b"}) == '{"s":"a\\ud800b"}'
    assert json.loads(provider.dumps({"s": "a\ud800b"})) == {"s": "a\ud800b"}
    with app.app_context():
        assert provider.response({"n": 2**70}).get_data() == b'{"n":1180591620717411303424}\n'
    # Flask's own conversions stay: a datetime is an HTTP date, not orjson's ISO form.
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert provider.dumps({"at": moment}) == '{"at":"Tue, 02 Jan 2024 03:04:05 GMT"}'
    # Keys keep the order given; non-string keys become strings, as with json.
    assert provider.dumps({"b": 1, "a": 2, 3: 4}) == '{"b":1,"a":2,"3":4}'
    assert math.isnan(provider.loads('{"x": NaN}')["x"])
    assert provider.loads(b'{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}
    assert provider.loads('"\\ud800"') == "\ud800"
