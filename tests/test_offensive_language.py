"""Offensive language: the offline model holds an abusive comment for review with its score;
`offensive_threshold = 0` turns the rule off."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis

from service import create_app
from service.offensive import OffensiveLanguage
from tests.conftest import app_config, close_app

pytest.importorskip("profanity_check", reason="the offensive extra is not installed")

ABUSIVE = "You are a fucking idiot and your article is shit."
CIVIL = "I disagree with the article: the figures for the new housing are out of date."


def post(client: Any, body: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/articles/article-1/comments",
        json={"name": "Ann", "email": "ann@example.com", "body": body},
    )
    answer: dict[str, Any] = response.get_json()
    answer["code"] = response.status_code
    return answer


@pytest.mark.parametrize("threshold", [0.9, 0.0])
def test_offensive_comment_is_held_unless_the_rule_is_off(
    redis_url: str,
    key_prefix: str,
    redis_client: redis.Redis,
    moderator: dict[str, str],
    threshold: float,
) -> None:
    app = create_app(
        app_config(redis_url, key_prefix, moderation_mode="off", offensive_threshold=threshold)
    )
    client = app.test_client()
    try:
        assert post(client, CIVIL)["code"] == 201
        answer = post(client, ABUSIVE)
        comment_id = answer["comment"]["id"]
        stored = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=moderator)
        reasons = stored.get_json()["reasons"]
        if threshold:
            assert answer["code"] == 202
            assert stored.get_json()["status"] == "pending"
            [reason] = [r for r in reasons if r.startswith("offensive language: ")]
            assert float(reason.removeprefix("offensive language: ")) > threshold
        else:
            assert answer["code"] == 201
            assert stored.get_json()["status"] == "approved"
            assert not any(r.startswith("offensive") for r in reasons)
        check = client.post(
            "/api/v1/moderation/rules/check",
            headers=moderator,
            json={"article_id": "a-2", "name": "Ann", "email": "a@example.com", "body": ABUSIVE},
        ).get_json()
        assert (check["offensive_score"] is not None) == bool(threshold)
    finally:
        close_app(app)


def test_the_rule_says_at_start_when_it_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="service.offensive"):
        assert OffensiveLanguage.load(0) is None
    assert "offensive language rule off" in caplog.text
    model = OffensiveLanguage.load(0.9)
    assert model is not None
    assert model.score(ABUSIVE) > 0.9 > 0.1 > model.score(CIVIL)


def test_the_service_scores_as_the_library_does() -> None:
    from profanity_check import predict_prob

    model = OffensiveLanguage.load(0.9)
    assert model is not None
    texts = (
        ABUSIVE,
        CIVIL,
        "What a stupid decision by the council.",
        "STUPID stupid Stupid, so stupid!",  # case and repeated words
        "the of and",  # only stop words: no known word at all
        "Café déjà vu, naïve idiot",  # accents
        "",
    )
    for text in texts:
        assert model.score(text) == pytest.approx(float(predict_prob([text])[0]), abs=1e-9)
