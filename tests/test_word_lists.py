"""Disallowed and moderation words: matched as whole words in time linear in the text.

The rules' behaviour through the HTTP API is in test_rules.py; here the bound itself is shown by
construction: the matcher counts every character its automata read, and no input makes that
count exceed the text's length times the number of words in the list.
"""

from __future__ import annotations

import pytest

from service.settings import SettingsError, load_settings
from service.wordlists import WordList
from tests.conftest import MODERATOR_TOKENS, ClientFactory
from tests.helpers import reply

MODERATOR = {"Authorization": f"Bearer {MODERATOR_TOKENS['alice']}"}
# Each `*` used to become a backtracking `\w*`: this body held a worker for over 30 seconds.
ADVERSARIAL_LISTS = [
    ("v*i*a*g*r*a",),
    ("a*a*a*a*a*a*a*b",),
    ("*a*", "a*", "*a", "**a**a**"),
    ("v*i*a v*i*a v*i*a*g",),
]


def adversarial_texts(length: int) -> list[str]:
    """Texts of about `length` characters that made the old patterns backtrack."""
    return [
        "v" + "ia" * (length // 2),
        "a" * length,
        " ".join(["via"] * (length // 4)),
        ("a" * 50 + " ") * (length // 51),
    ]


def list_words(entries: tuple[str, ...]) -> int:
    """Count the words of a list's entries."""
    return sum(len(entry.words) for entry in WordList(entries).entries)


@pytest.mark.parametrize("entries", ADVERSARIAL_LISTS)
@pytest.mark.parametrize("length", [1000, 5000, 20000])
def test_matching_reads_each_character_at_most_once_per_listed_word(
    entries: tuple[str, ...], length: int
) -> None:
    """The automata read at most len(text) characters for each word of the list."""
    words = WordList(entries)
    for text in adversarial_texts(length):
        scan = words.scan(text)
        assert scan.steps <= len(text) * list_words(entries), (entries, text[:30])


def test_the_work_grows_linearly_with_the_text() -> None:
    """Twice the text, at most twice the reads: no polynomial blow-up hides in the bound."""
    words = WordList(("v*i*a*g*r*a",))
    small = words.scan("v" + "ia" * 2499)
    large = words.scan("v" + "ia" * 4999)
    assert small.entry is None and large.entry is None
    assert small.steps == 4999
    assert large.steps == 9999


@pytest.mark.parametrize(
    ("entries", "text", "found"),
    [
        (("casino",), "Meet me at the CASINO.", "casino"),
        (("casino",), "casinos everywhere", None),
        (("casino",), "casino-royale", "casino"),
        (("viagra*",), "Cheap VIAGRAS", "viagra*"),
        (("viagra*",), "xviagra", None),
        (("*gra",), "viagra now", "*gra"),
        (("v*i*a*g*r*a",), "vxixaxgxrxa", "v*i*a*g*r*a"),
        (("v*i*a*g*r*a",), "v" + "ia" * 2499, None),
        (("v*a",), "va", "v*a"),
        (("free money",), "Free, money!", "free money"),
        (("free money",), "free more money", None),
        (("e-mail",), "send an e.mail", "e-mail"),
        (("straße",), "STRASSE", "straße"),
        (("zoë",), "Zoë was here", "zoë"),
        (("first", "second"), "second and first", "first"),
    ],
)
def test_whole_words_wildcards_phrases_and_case(
    entries: tuple[str, ...], text: str, found: str | None
) -> None:
    """Whole words, `*` for any letters, any separator between a phrase's words, any case."""
    assert WordList(entries).scan(text).entry == found


@pytest.mark.parametrize("entry", ["*", "**", "c++", "!!!", "-casino", "casino!"])
def test_entries_that_are_not_words_are_refused_at_start(entry: str) -> None:
    """An entry must be words with a letter or digit: `*` alone would match every comment."""
    with pytest.raises(SettingsError, match="disallowed_words or moderation_words"):
        load_settings({"disallowed_words": entry}, environ={})
    with pytest.raises(SettingsError, match="disallowed_words or moderation_words"):
        load_settings({"moderation_words": f"fine,{entry}"}, environ={})


def test_an_adversarial_body_is_judged_through_the_api_and_the_dry_run(
    make_client: ClientFactory,
) -> None:
    """The submission and the moderators' dry run both answer the body that used to hang."""
    client = make_client(disallowed_words="v*i*a*g*r*a", moderation_words="a*a*a*a*b")
    body = "v" + "ia" * 2499
    response = client.post("/api/v1/articles/article-1/comments", json=reply(body=body))
    assert response.status_code == 202, response.get_json()
    comment_id = response.get_json()["comment"]["id"]
    stored = client.get(f"/api/v1/moderation/comments/{comment_id}", headers=MODERATOR)
    assert stored.get_json()["status"] == "pending"
    assert stored.get_json()["reasons"] == []

    check = client.post(
        "/api/v1/moderation/rules/check",
        headers=MODERATOR,
        json=reply(article_id="article-2", body=body[:4980] + " vxixaxgxrxa"),
    )
    assert check.status_code == 200, check.get_json()
    assert check.get_json()["outcome"] == "spam"
    assert check.get_json()["reasons"] == ["disallowed word in text (v*i*a*g*r*a)"]
