"""Moderators' use cases: list the queues, read a comment, decide on it, delete it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from service.comments import record_view, rfc3339
from service.errors import CommentNotFound
from service.models import Decision, Status
from service.privacy import Privacy
from service.store import Locator, Store

log = logging.getLogger(__name__)


class ModerationService:
    """What moderators do with submitted comments."""

    def __init__(self, store: Store, privacy: Privacy) -> None:
        self.store = store
        self.privacy = privacy

    def queue(
        self, status: Status, article_id: str | None, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        """List comments in one state, pending oldest first, with a cursor to the next page."""
        comment_ids = self.store.queue_slice(status, article_id, limit + 1, cursor)
        page_ids = comment_ids[:limit]
        locators = self.store.locate_many(page_ids)
        references = [
            (locator.article_id, comment_id)
            for comment_id, locator in zip(page_ids, locators, strict=True)
            if locator is not None
        ]
        records = self.store.moderation_records(references)
        comments = [self._view(fields, sealed) for fields, sealed in records if fields]
        next_cursor = page_ids[-1] if len(comment_ids) > limit else None
        return {"comments": comments, "next_cursor": next_cursor}

    def get(self, comment_id: str) -> dict[str, Any]:
        """Read one comment with its private data."""
        return self._read(comment_id, self._locate(comment_id))

    def _read(self, comment_id: str, locator: Locator) -> dict[str, Any]:
        [(fields, sealed)] = self.store.moderation_records([(locator.article_id, comment_id)])
        if not fields:
            raise CommentNotFound()
        return self._view(fields, sealed)

    def decide(
        self, comment_id: str, decision: Decision, moderator: str, reason: str | None
    ) -> dict[str, Any]:
        """Approve, reject or mark as spam; the same decision again changes nothing."""
        locator = self._locate(comment_id)
        decided_at = rfc3339(datetime.now(UTC))
        outcome, previous = self.store.decide(
            comment_id, locator, decision.status, moderator, decided_at, reason
        )
        if outcome == "missing":
            raise CommentNotFound()
        if outcome == "changed":
            log.info(
                "moderator %s moved comment %s from %s to %s",
                moderator,
                comment_id,
                previous,
                decision.status,
            )
        return self._read(comment_id, locator)

    def delete(self, comment_id: str, moderator: str) -> None:
        """Delete a comment and all its private data; its published replies stay."""
        locator = self._locate(comment_id)
        # "missing" here means it went after we found it (another moderator, or this very
        # command re-sent after a lost reply): the comment is gone either way.
        outcome = self.store.delete(comment_id, locator)
        log.info("moderator %s deleted comment %s (%s)", moderator, comment_id, outcome)

    def _locate(self, comment_id: str) -> Locator:
        [locator] = self.store.locate_many([comment_id])
        if locator is None:
            raise CommentNotFound()
        return locator

    def _view(self, fields: dict[str, str], sealed: bytes | None) -> dict[str, Any]:
        view = record_view(fields) | {"status": Status(fields["status"])}
        for name in ("decided_by", "decided_at", "reason"):
            view[name] = fields.get(name)
        view["reasons"] = json.loads(fields.get("reasons", "[]"))
        private = self.privacy.decrypt(sealed) if sealed else None
        view["email"] = private.email if private else None
        view["ip"] = private.ip if private else None
        view["user_agent"] = private.user_agent if private else None
        return view
