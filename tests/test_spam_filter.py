"""The learning spam filter: taught by moderators' decisions through the HTTP API, it files
obvious spam as spam and never obviously legitimate text; reversals unlearn, parallel decisions
count once, erasure forgets the reader, `news-comments train` learns labelled files."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from service import EXTENSION, create_app
from service.cli import main
from service.keys import Keys
from service.spam_filter import ALPHA, MAX_TEXT, WEIGHT_SCALE, features, record_label
from service.spam_learning import SpamFilter
from tests.conftest import app_config, close_app
from tests.helpers import (
    decide,
    flood_marks,
    moderation_item,
    reply,
    slot_counts,
    submit,
)
from tests.test_migration import WXR

MIN_SAMPLES = 5
# Each text is taught this many times (by different readers): a filter learns from volume.
ROUNDS = 3
SPAM_TEXTS = [
    "Check out my channel and subscribe please! http://cheap-followers.example/win",
    "Earn money fast from home, click here: http://easy-cash.example/join now",
    "Subscribe to my channel for free gift cards!!! http://free-gifts.example",
    "Buy cheap followers and likes today at http://cheap-followers.example/buy",
    "Hey guys check out my new video and subscribe, thanks! http://my-vids.example",
    "Free iPhone giveaway, click http://free-gifts.example/iphone and win now!!!",
    "Make money online, visit http://easy-cash.example and earn from home today",
    "Please subscribe to my channel, check out my videos http://my-vids.example/me",
]
LEGITIMATE_TEXTS = [
    "The council should publish the budget figures before the vote, not after it.",
    "I live on that street and the new bus lane has made the morning traffic worse.",
    "Good reporting. The interview with the head teacher explained the strike well.",
    "Does anyone know whether the library will keep its Sunday opening hours?",
    "The article misses that the bridge repairs were first promised three years ago.",
    "My grandmother worked at the mill for forty years; sad to see it closing.",
    "The mayor's answer on housing was vague. What is the actual number of new homes?",
    "Thanks for the clear explanation of the new recycling rules in our district.",
]
OBVIOUS_SPAM = (
    "Check out my channel, subscribe and earn money free from home: "
    "click http://easy-cash.example/join now!!!"
)
OBVIOUS_LEGITIMATE = "The council vote on the library budget is next week; the article explains it."


@pytest.fixture
def filter_app(redis_url: str, key_prefix: str, redis_client: redis.Redis) -> Iterator[Flask]:
    """The service with a spam filter that speaks after a few learned comments of each kind."""
    app = create_app(app_config(redis_url, key_prefix, filter_min_samples=MIN_SAMPLES))
    yield app
    close_app(app)


@pytest.fixture
def filter_client(filter_app: Flask) -> FlaskClient:
    return filter_app.test_client()


def spam_filter(client: FlaskClient) -> SpamFilter:
    service: SpamFilter = client.application.extensions[EXTENSION].spam_filter
    return service


def post(client: FlaskClient, body: str, name: str) -> dict[str, Any]:
    """Submit a comment, published or waiting (whatever the moderation mode)."""
    response = client.post("/api/v1/articles/article-1/comments", json=reply(body=body, name=name))
    assert response.status_code in (201, 202), response.get_json()
    comment: dict[str, Any] = response.get_json()["comment"]
    return comment


def teach(client: FlaskClient, headers: dict[str, str]) -> None:
    """Teach the filter as moderators do: submissions, then decisions."""
    for number, text in enumerate(SPAM_TEXTS * ROUNDS):
        comment = post(client, text, f"Promo {number}")
        # Both ways of calling a comment spam teach the filter.
        if number % 2:
            decide(client, headers, comment["id"], "spam")
        else:
            decide(client, headers, comment["id"], "reject", reason_code="spam")
    for number, text in enumerate(LEGITIMATE_TEXTS * ROUNDS):
        comment = post(client, text, f"Reader {number}")
        decide(client, headers, comment["id"], "approve")


def check(client: FlaskClient, headers: dict[str, str], body: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/moderation/rules/check",
        headers=headers,
        json={"article_id": "article-1", "name": "Someone", "email": "s@example.com", "body": body},
    )
    assert response.status_code == 200, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def test_filter_abstains_until_it_learned_enough_of_each_kind(
    filter_client: FlaskClient, moderator: dict[str, str]
) -> None:
    for text in SPAM_TEXTS:
        decide(filter_client, moderator, submit(filter_client, body=text)["id"], "spam")
    answer = check(filter_client, moderator, OBVIOUS_SPAM)
    assert answer["spam_score"] is None
    assert not any(reason.startswith("spam filter") for reason in answer["reasons"])
    comment = submit(filter_client, body=OBVIOUS_SPAM)
    assert moderation_item(filter_client, moderator, comment["id"])["status"] == "pending"
    assert spam_filter(filter_client).filter_store.totals().ham_comments == 0


def test_filter_taught_by_decisions_files_spam_and_spares_legitimate_text(
    filter_client: FlaskClient, moderator: dict[str, str]
) -> None:
    def learned() -> dict[str, Any]:
        stats = filter_client.get("/api/v1/moderation/stats", headers=moderator)
        assert stats.status_code == 200
        found: dict[str, Any] = stats.get_json()["spam_filter"]
        return found

    assert learned() == {
        "learned_spam": 0,
        "learned_legitimate": 0,
        "min_samples": MIN_SAMPLES,
        "scoring": False,
    }
    teach(filter_client, moderator)
    totals = spam_filter(filter_client).filter_store.totals()
    taught = (len(SPAM_TEXTS) * ROUNDS, len(LEGITIMATE_TEXTS) * ROUNDS)
    assert (totals.spam_comments, totals.ham_comments) == taught
    # Moderators see it on the desk's figures.
    assert learned() == {
        "learned_spam": taught[0],
        "learned_legitimate": taught[1],
        "min_samples": MIN_SAMPLES,
        "scoring": True,
    }

    response = filter_client.post(
        "/api/v1/articles/article-2/comments",
        json={"name": "Promo", "email": "promo@example.com", "body": OBVIOUS_SPAM},
    )
    # Answered like any comment awaiting moderation: nothing tells a spammer it was caught.
    assert response.status_code == 202
    assert response.get_json()["comment"]["status"] == "pending"
    stored = moderation_item(filter_client, moderator, response.get_json()["comment"]["id"])
    assert stored["status"] == "spam"
    [reason] = [reason for reason in stored["reasons"] if reason.startswith("spam filter: ")]
    assert float(reason.removeprefix("spam filter: ")) >= 0.9

    legitimate = submit(filter_client, "article-2", body=OBVIOUS_LEGITIMATE)
    stored = moderation_item(filter_client, moderator, legitimate["id"])
    assert stored["status"] == "pending"
    assert not any(reason.startswith("spam filter") for reason in stored["reasons"])

    dry_run = check(filter_client, moderator, OBVIOUS_SPAM)
    assert dry_run["outcome"] == "spam" and dry_run["spam_score"] >= 0.9
    assert any(reason.startswith("spam filter: ") for reason in dry_run["reasons"])
    assert check(filter_client, moderator, OBVIOUS_LEGITIMATE)["spam_score"] < 0.5


def model_score(
    service: SpamFilter, redis_client: redis.Redis, key_prefix: str, name: str, body: str
) -> float:
    """Score a text from its slots' counts as stored, by the model's formula written out here
    (service/spam_filter.py): what the Redis step must give."""
    totals = service.filter_store.totals()
    counts = slot_counts(redis_client, key_prefix, features(name, body, None, "").slots())
    scale, alpha = WEIGHT_SCALE, ALPHA
    vocabulary = alpha * max(totals.slots_used, 1)
    prior = math.log(
        (totals.spam_weight / scale + vocabulary) / (totals.ham_weight / scale + vocabulary)
    )
    learned = totals.spam_comments + totals.ham_comments + 1
    evidence = squares = 0.0
    for found in counts.values():
        if found is None or found[2] <= 0:
            continue
        spam, ham, comments = found
        ratio = math.log((spam / scale + alpha) / (ham / scale + alpha))
        rarity = math.log(learned / (comments + 0.5))
        evidence += rarity * (ratio - prior)
        squares += rarity * rarity
    return 0.5 if squares == 0 else 1 / (1 + math.exp(-evidence / math.sqrt(squares)))


def test_the_score_taken_in_redis_is_the_models(
    filter_client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    """The sums over a comment's slots are taken where the counts are: the score equals the
    model's formula applied to the counts read back, for texts of each kind and one unseen."""
    teach(filter_client, moderator)
    service = spam_filter(filter_client)
    texts = [OBVIOUS_SPAM, OBVIOUS_LEGITIMATE, SPAM_TEXTS[0], "Zebra quantum marmalade."]
    scores = [service.score("Someone", text, None, "") for text in texts]
    expected = [model_score(service, redis_client, key_prefix, "Someone", t) for t in texts]
    assert scores == pytest.approx(expected)
    assert scores[0] is not None and scores[1] is not None and scores[0] > 0.9 > 0.5 > scores[1]


def test_a_refused_client_reads_the_filter_only_once_the_rules_pass(
    filter_client: FlaskClient,
    moderator: dict[str, str],
    redis_url: str,
    key_prefix: str,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The filter's read travels with the rules' facts, except for a client the rules refused
    lately: a flood of refused submissions does not have Redis score each one. Once the rules
    let that client through, its submission is scored all the same."""
    teach(filter_client, moderator)
    app = create_app(
        app_config(redis_url, key_prefix, filter_min_samples=MIN_SAMPLES, flood_interval=15)
    )
    store = app.extensions[EXTENSION].store
    read_facts = store.admission_facts
    with_filter_read: list[bool] = []

    def recording(*args: Any) -> Any:
        with_filter_read.append(args[4] is not None)
        return read_facts(*args)

    monkeypatch.setattr(store, "admission_facts", recording)
    client = app.test_client()

    def send(number: int) -> Any:
        return client.post(
            "/api/v1/articles/article-1/comments",
            json=reply(email=f"flooder{number}@example.com", body=f"{OBVIOUS_SPAM} {number}"),
            environ_base={"REMOTE_ADDR": "198.51.100.7"},
        )

    try:
        assert send(1).status_code == 202
        assert [send(number).status_code for number in (2, 3, 4)] == [429] * 3
        assert with_filter_read == [True, True, False, False]

        # The flood mark gone, the rules let the client through: its text is still scored.
        redis_client.delete(*flood_marks(redis_client, key_prefix))
        answer = send(5)
        assert answer.status_code == 202 and with_filter_read[-1] is False
        reasons = moderation_item(client, moderator, answer.get_json()["comment"]["id"])["reasons"]
        assert any(reason.startswith("spam filter: ") for reason in reasons), reasons
    finally:
        close_app(app)


def test_links_count_anywhere_in_a_long_text(
    filter_client: FlaskClient, moderator: dict[str, str]
) -> None:
    """Only the start of a long text gives word features, but a spam link padded behind pages
    of harmless text is still seen."""
    teach(filter_client, moderator)
    padding = " ".join(LEGITIMATE_TEXTS * 4)
    assert len(padding) > 2 * MAX_TEXT
    plain = check(filter_client, moderator, padding)["spam_score"]
    padded_spam = check(filter_client, moderator, f"{padding} http://easy-cash.example/join")
    assert padded_spam["spam_score"] > plain


def test_hold_band_holds_even_when_moderation_is_off(
    redis_url: str, key_prefix: str, redis_client: redis.Redis, moderator: dict[str, str]
) -> None:
    app = create_app(
        app_config(
            redis_url,
            key_prefix,
            filter_min_samples=MIN_SAMPLES,
            moderation_mode="off",
            hold_threshold=0.01,
            spam_threshold=1.0,
        )
    )
    client = app.test_client()
    try:
        teach(client, moderator)
        response = client.post(
            "/api/v1/articles/article-3/comments",
            json={"name": "Ann", "email": "ann@example.com", "body": OBVIOUS_LEGITIMATE},
        )
        assert response.status_code == 202
        stored = moderation_item(client, moderator, response.get_json()["comment"]["id"])
        assert stored["status"] == "pending"
        assert any(reason.startswith("spam filter: ") for reason in stored["reasons"])
    finally:
        close_app(app)


def test_reversed_decision_unlearns_and_deletion_keeps(
    filter_client: FlaskClient, moderator: dict[str, str]
) -> None:
    store = spam_filter(filter_client).filter_store
    comment_id = submit(filter_client, body="Visit http://promo.example for prizes")["id"]
    decide(filter_client, moderator, comment_id, "approve")
    assert (store.totals().spam_comments, store.totals().ham_comments) == (0, 1)
    assert record_label(store.record(comment_id)) == "h"
    weight_before = store.totals().ham_weight

    # A moderator edits the text, then reverses: exactly what was learned is subtracted.
    response = filter_client.post(
        f"/api/v1/moderation/comments/{comment_id}/edit",
        headers=moderator,
        json={"body": "Something else entirely, much longer than the original text was."},
    )
    assert response.status_code == 200, response.get_json()
    decide(filter_client, moderator, comment_id, "spam")
    totals = store.totals()
    assert (totals.spam_comments, totals.ham_comments, totals.ham_weight) == (1, 0, 0)
    assert weight_before > 0
    decide(filter_client, moderator, comment_id, "spam")  # the same decision again
    assert store.totals().spam_comments == 1

    # Rejected for another reason: it teaches nothing, and what it taught goes.
    decide(filter_client, moderator, comment_id, "reject", reason_code="off_topic")
    totals = store.totals()
    assert (totals.spam_comments, totals.ham_comments, totals.slots_used) == (0, 0, 0)
    assert store.record(comment_id) == b""

    decide(filter_client, moderator, comment_id, "approve")
    response = filter_client.delete(f"/api/v1/moderation/comments/{comment_id}", headers=moderator)
    assert response.status_code == 204
    assert store.totals().ham_comments == 1


def test_only_the_most_recent_decisions_can_be_undone(
    redis_url: str, key_prefix: str, moderator: dict[str, str]
) -> None:
    """With filter_undoable = 2, the filter keeps what it learned from the two comments learned
    last; reversing an older decision adds the new label, the old one stays learned."""
    app = create_app(app_config(redis_url, key_prefix, filter_undoable=2))
    try:
        client = app.test_client()
        store = spam_filter(client).filter_store
        ids = [submit(client, body=text)["id"] for text in LEGITIMATE_TEXTS[:3]]
        for comment_id in ids:
            decide(client, moderator, comment_id, "approve")
        assert [bool(store.record(comment_id)) for comment_id in ids] == [False, True, True]

        decide(client, moderator, ids[0], "spam")
        totals = store.totals()
        assert (totals.spam_comments, totals.ham_comments) == (1, 3)
        assert [bool(store.record(comment_id)) for comment_id in ids] == [True, False, True]
        decide(client, moderator, ids[2], "spam")  # still undoable: relabelled exactly
        totals = store.totals()
        assert (totals.spam_comments, totals.ham_comments) == (2, 2)
    finally:
        close_app(app)


def test_parallel_decisions_on_one_comment_count_once(
    filter_app: Flask, moderator: dict[str, str]
) -> None:
    client = filter_app.test_client()
    store = spam_filter(client).filter_store
    comment_ids = [submit(client, body=f"Parallel comment {n} here")["id"] for n in range(3)]
    actions = ["approve", "spam", "approve", "spam", "approve", "spam"]
    for comment_id in comment_ids:
        threads = [
            threading.Thread(
                target=lambda action=action, comment_id=comment_id: filter_app.test_client().post(
                    f"/api/v1/moderation/comments/{comment_id}/{action}", headers=moderator
                )
            )
            for action in actions
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    totals = store.totals()
    assert totals.spam_comments + totals.ham_comments == len(comment_ids)
    for comment_id in comment_ids:
        status = moderation_item(client, moderator, comment_id)["status"]
        assert record_label(store.record(comment_id)) == ("s" if status == "spam" else "h")
    spam_ids = [i for i in comment_ids if moderation_item(client, moderator, i)["status"] == "spam"]
    assert totals.spam_comments == len(spam_ids)


def test_erasure_forgets_what_identifies_the_reader(
    filter_client: FlaskClient, moderator: dict[str, str]
) -> None:
    store = spam_filter(filter_client).filter_store
    comment_id = submit(
        filter_client,
        name="Zebulon Quintavalle",
        email="zebulon@quintavalle-family.example",
        website="https://zebulon-quintavalle.example",
        body="Lovely photographs of the harbour festival.",
    )["id"]
    decide(filter_client, moderator, comment_id, "approve")
    before = store.totals()
    response = filter_client.post(
        "/api/v1/moderation/privacy/erase",
        headers=moderator,
        json={"email": "zebulon@quintavalle-family.example"},
    )
    assert response.status_code == 200, response.get_json()
    after = store.totals()
    assert store.record(comment_id) == b""
    # The text's features stay learned; the name's words, website and email domain do not.
    assert after.ham_comments == before.ham_comments == 1
    assert 0 < after.ham_weight < before.ham_weight
    assert after.slots_used < before.slots_used


def test_filter_keys_share_one_tag(
    filter_client: FlaskClient,
    moderator: dict[str, str],
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    """What learning writes is named as `service.keys` says, all under one hash tag (the Lua
    steps name the slot shards from the prefix they are given)."""
    teach(filter_client, moderator)
    keys = Keys(key_prefix)
    written = {_name(key) for key in redis_client.scan_iter(match=f"{key_prefix}:*spam-filter*")}
    shards = {name for name in written if name.startswith(keys.spam_filter_shards())}
    assert written - shards == {
        keys.spam_filter_totals(),
        keys.spam_filter_records(),
        keys.spam_filter_record_order(),
    }
    assert shards and all(name.removeprefix(keys.spam_filter_shards()).isdigit() for name in shards)
    assert all(f"{key_prefix}:{{spam-filter}}:" in name for name in written)


def _name(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


@pytest.mark.usefixtures("cli_env")
def test_train_command_learns_a_labelled_csv(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redis_client: redis.Redis,
    key_prefix: str,
    redis_url: str,
) -> None:
    path = tmp_path / "labelled.csv"
    rows = [f'"{text}",1' for text in SPAM_TEXTS * ROUNDS]
    rows += [f'"{text}",0' for text in LEGITIMATE_TEXTS * ROUNDS]
    path.write_text("CONTENT,CLASS\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["train", str(path)]) == 0
    assert "learned 24 spam and 24 legitimate" in capsys.readouterr().out

    app = create_app(app_config(redis_url, key_prefix, filter_min_samples=MIN_SAMPLES))
    try:
        service: SpamFilter = app.extensions[EXTENSION].spam_filter
        totals = service.filter_store.totals()
        assert (totals.spam_comments, totals.ham_comments) == (24, 24)
        spam_score = service.score("", OBVIOUS_SPAM, None, "")
        legitimate_score = service.score("", OBVIOUS_LEGITIMATE, None, "")
        assert spam_score is not None and legitimate_score is not None
        assert spam_score > 0.9 > 0.5 > legitimate_score
    finally:
        close_app(app)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("TEXT,CLASS\nhello,1\n", "no CONTENT column"),
        ("CONTENT,CLASS\nhello,maybe\n", "line 2: CLASS must be 0 or 1"),
        ("CONTENT,CLASS\n", "no labelled rows"),
    ],
)
def test_train_command_refuses_bad_files_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, error: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["train", str(path)]) == 1
    message = capsys.readouterr().err
    assert message.strip() == f"news-comments: {path}: {error}"
    assert main(["train", str(tmp_path / "missing.csv")]) == 1
    assert "cannot be read" in capsys.readouterr().err


def test_train_command_without_a_server_ends_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("REDIS_URL", "COMMENTS_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMMENTS_VAR_DIR", str(tmp_path / "no-make-run"))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    path = tmp_path / "labelled.csv"
    path.write_text("CONTENT,CLASS\nhello,1\n", encoding="utf-8")
    with pytest.raises(SystemExit) as ended:
        main(["train", str(path)])
    assert str(ended.value.code).startswith("news-comments: ")
    assert "\n" not in str(ended.value.code)


@pytest.mark.usefixtures("cli_env")
def test_wordpress_import_learns_its_states_when_asked(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redis_url: str,
    key_prefix: str,
    redis_client: redis.Redis,
) -> None:
    path = tmp_path / "export.xml"
    path.write_text(WXR, encoding="utf-8")
    assert main(["import-wordpress", "--learn", str(path)]) == 0
    assert "the spam filter learned 3 comment(s)" in capsys.readouterr().out
    app = create_app(app_config(redis_url, key_prefix))
    try:
        totals = app.extensions[EXTENSION].spam_filter.filter_store.totals()
        # Two approved comments, one spam; the pending one teaches nothing.
        assert (totals.spam_comments, totals.ham_comments) == (1, 2)
    finally:
        close_app(app)
    assert main(["import-wordpress", "--learn", str(path)]) == 0  # again: nothing twice
    assert "learned 0 comment(s)" in capsys.readouterr().out
