"""Email to moderators about new pending comments: batched, sent through SMTP, never lost."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from port_for import get_port

from service import EXTENSION
from service.cli import main
from service.moderator_mail import ModeratorMail
from tests.conftest import ClientFactory
from tests.helpers import decide, event_streams, pending_ids, submit


class Inbox:
    """An SMTP handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """Run a real SMTP server on a free port; give what it received."""
    handler = Inbox()
    port = get_port(None)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def mail_settings(port: int) -> dict[str, Any]:
    return {
        "notify_emails": "desk@news.example,night@news.example",
        "notify_from": "comments@news.example",
        "public_url": "https://comments.news.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_starttls": "false",
    }


def mailer_of(app: Flask) -> ModeratorMail:
    services = app.extensions[EXTENSION]
    return ModeratorMail(services.store, services.settings, consumer="test")


def test_one_message_lists_the_new_pending_comments(
    make_client: ClientFactory, inbox: tuple[Inbox, int], moderator: dict[str, str]
) -> None:
    handler, port = inbox
    client = make_client(**mail_settings(port))
    first = submit(client, "article-a", name="Ann", email="ann@example.com", body="First thought")
    submit(client, "article-b", name="Bob", email="bob@example.com", body="Second " * 80)
    decide(client, moderator, first["id"], "approve")  # not new work: not listed again

    mailer = mailer_of(client.application)
    assert mailer.send_due() == 2
    [message] = handler.messages
    assert message["Subject"] == "2 new comments to moderate"
    assert message["To"] == "desk@news.example, night@news.example"
    text = message.get_content()
    assert "on article-a, Ann [already approved]:" in text and "First thought" in text
    assert "on article-b, Bob:" in text and "…" in text
    assert "https://comments.news.example/moderate" in text
    assert "ann@example.com" not in text and "bob@example.com" not in text

    # Nothing new: no message.
    assert mailer.send_due() == 0
    assert len(handler.messages) == 1
    submit(client, "article-a", name="Cy", body="Third")
    assert mailer.send_due() == 1
    assert handler.messages[-1]["Subject"] == "1 new comment to moderate"


def test_a_failed_send_keeps_the_comments_for_the_next(
    make_client: ClientFactory, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    closed_port = get_port(None)
    down = make_client(**mail_settings(closed_port))
    submit(down, body="Waiting while the mail server is down")
    with pytest.raises(OSError):
        mailer_of(down.application).send_due()
    assert handler.messages == []

    up = make_client(**mail_settings(port))
    assert mailer_of(up.application).send_due() == 1
    assert "Waiting while the mail server is down" in handler.messages[0].get_content()


def test_no_email_settings_means_no_events(
    make_client: ClientFactory, redis_client: Any, key_prefix: str
) -> None:
    client = make_client()
    comment = submit(client)
    assert pending_ids(redis_client, key_prefix) == [comment["id"]]
    assert event_streams(redis_client, key_prefix) == []


@pytest.mark.usefixtures("cli_env")
def test_the_command_sends_once(
    inbox: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
    make_client: ClientFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler, port = inbox
    for name, value in mail_settings(port).items():
        monkeypatch.setenv(f"COMMENTS_{name.upper()}", str(value))
    client = make_client(**mail_settings(port))
    submit(client, body="Tell the desk")
    assert main(["notify", "--once"]) == 0
    assert "Listed 1 comment(s)." in capsys.readouterr().out
    assert len(handler.messages) == 1
    monkeypatch.delenv("COMMENTS_NOTIFY_EMAILS")
    assert main(["notify", "--once"]) == 2
