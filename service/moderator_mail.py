"""Email moderators about comments waiting for them: one message per batch, through SMTP."""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
from email.message import EmailMessage

from service.event_stream import Event, EventGroup
from service.settings import Settings
from service.store import Store

log = logging.getLogger(__name__)

# The consumer group the mailer reads the events stream through (webhooks have their own).
GROUP = "moderator-mail"
# Comments listed in one message at most; more go in the next one.
BATCH = 200
EXCERPT_LENGTH = 300
# New work: a new pending comment, or a published one readers' reports took out of publication.
WAITING_EVENTS = ("comment.pending", "comment.reported")


class ModeratorMail:
    """Collect newly pending comments and send moderators one message about them."""

    def __init__(self, store: Store, settings: Settings, consumer: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.events = EventGroup(store, GROUP)
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask `run` to end after the batch under way."""
        self._stop.set()

    def run(self) -> None:
        """Send a message for each batch of new pending comments, every `notify_interval`."""
        while not self._stop.is_set():
            try:
                self.send_due()
            except (OSError, smtplib.SMTPException) as error:
                # Nothing was acknowledged: the same comments go in the next attempt.
                log.warning("moderator email not sent: %s", type(error).__name__)
            self._stop.wait(self.settings.notify_interval_seconds)

    def send_due(self) -> int:
        """Send one message about the comments that began waiting since the last; answer how
        many it listed. Events are acknowledged only once the message is accepted."""
        self.events.ensure_group()
        # First what this mailer took before and never acknowledged (it stopped mid-send).
        events = self.events.read(self.consumer, BATCH, None, own=True)
        if len(events) < BATCH:
            events += self.events.read(self.consumer, BATCH - len(events), None)
        waiting = [event for event in events if event[1].get("type") in WAITING_EVENTS]
        if waiting:
            self._send(self.compose(waiting))
        for event_id, _ in events:
            self.events.ack(event_id)
        return len(waiting)

    def compose(self, waiting: list[Event]) -> EmailMessage:
        """Write the message: each comment's article, author's name and the start of its text
        (never the reader's email), and where to moderate."""
        count = len(waiting)
        lines = [f"{count} new comment{'s' if count != 1 else ''} waiting for moderation:", ""]
        for _, fields in waiting:
            record = self.store.comment_fields(fields["article_id"], fields["comment_id"])
            if not record or record.get("status") == "deleted":
                lines.append(f"- on {fields['article_id']}: (since deleted)")
                continue
            body = " ".join(record.get("body", "").split())
            excerpt = body if len(body) <= EXCERPT_LENGTH else body[: EXCERPT_LENGTH - 1] + "…"
            state = record.get("status", "pending")
            decided = "" if state == "pending" else f" [already {state}]"
            if fields.get("type") == "comment.reported":
                decided += " [reported by readers]"
            lines.append(f"- on {fields['article_id']}, {record.get('name', '')}{decided}:")
            lines.append(f"  {excerpt}")
        if self.settings.public_url:
            lines += ["", f"Moderate: {self.settings.public_url.rstrip('/')}/moderate"]
        message = EmailMessage()
        message["Subject"] = f"{count} new comment{'s' if count != 1 else ''} to moderate"
        message["From"] = self.settings.notify_from
        message["To"] = ", ".join(self.settings.notify_emails)
        message.set_content("\n".join(lines) + "\n")
        return message

    def _send(self, message: EmailMessage) -> None:
        settings = self.settings
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
        log.info("emailed moderators about %s", message["Subject"])
