"""Readers' data rights: export everything held about an email, erase it, and keep private
data no longer than the retention settings allow.

An email is found only through its keyed hash (the email index); no log line names it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.comments import rfc3339
from service.data_rights_store import DataRightsStore, Redaction
from service.models import Act, PrivateData, Status
from service.moderation import moderator_view
from service.privacy import Privacy, PrivateDataError
from service.settings import ERASE_MODES, Settings
from service.spam_learning import SpamFilter
from service.store import Locator, Store

log = logging.getLogger(__name__)

ANONYMOUS = "Anonymous"
REMOVED_TEXT = "[removed]"
DECIDED = (Status.APPROVED, Status.REJECTED, Status.SPAM)


@dataclass(frozen=True)
class RetentionReport:
    """What one retention run did."""

    ip_removed: int
    private_deleted: int


@dataclass(frozen=True)
class Retention:
    """The moments before which the retention rules apply (None: the rule is off)."""

    ip_cutoff: datetime | None
    reject_cutoff: datetime | None

    def due(self, status: Status, decided_at: datetime | None) -> str | None:
        """Say what is due for a comment decided at a moment: "delete" its private data,
        "strip" IP and user agent, or nothing."""
        if decided_at is None:
            return None
        if status is not Status.APPROVED and self.reject_cutoff and decided_at < self.reject_cutoff:
            return "delete"
        if self.ip_cutoff and decided_at < self.ip_cutoff:
            return "strip"
        return None


class DataRights:
    """Export, erasure and retention of readers' personal data."""

    def __init__(
        self,
        store: Store,
        privacy: Privacy,
        settings: Settings,
        batch: int = 500,
        spam_filter: SpamFilter | None = None,
    ) -> None:
        self.spam_filter = spam_filter
        self.store = store
        self.rights_store = DataRightsStore(store)
        self.privacy = privacy
        self.settings = settings
        self.batch = batch

    # --- export -------------------------------------------------------------------------
    def export(self, email: str, moderator: str) -> dict[str, Any]:
        """Gather every comment written with an email, with its private data opened, and what
        else is kept about the email (block list, approved count)."""
        email_hash = self.privacy.email_hash(email)
        comment_ids: list[str] = []
        while batch := self.rights_store.comment_ids(
            email_hash, self.batch, comment_ids[-1] if comment_ids else None
        ):
            comment_ids.extend(batch)
        comments: list[dict[str, Any]] = []
        for start in range(0, len(comment_ids), self.batch):
            page = comment_ids[start : start + self.batch]
            references = [
                (locator.article_id, comment_id)
                for comment_id, locator in zip(page, self.store.locate_many(page), strict=True)
                if locator is not None
            ]
            comments.extend(
                moderator_view(self.privacy, fields, sealed, export=True)
                for fields, sealed in self.store.moderation_records(references)
                if fields
            )
        blocked, approved = self.rights_store.email_facts(email_hash)
        # Reading a reader's personal data is an action too (the entry names no email).
        self.store.audit(
            {
                "action": "export",
                "moderator": moderator,
                "after": f"{len(comments)} comment(s)",
            }
        )
        log.info("moderator %s exported one reader's data: %d comment(s)", moderator, len(comments))
        return {
            "email": email,
            "blocked": blocked,
            "approved_comments": approved,
            "comments": comments,
        }

    # --- erasure ------------------------------------------------------------------------
    def erase(self, email: str, mode: str | None, moderator: str) -> dict[str, Any]:
        """Anonymize or delete every comment written with an email, and remove every lookup
        derived from it; answer how many comments were erased. Repeating it erases nothing."""
        mode = mode or self.settings.erase_mode
        if mode not in ERASE_MODES:
            raise ValueError(f"unknown erase mode {mode!r}")
        email_hash = self.privacy.email_hash(email)
        act = Act(moderator, rfc3339(datetime.now(UTC)))
        redaction = Redaction(name=ANONYMOUS)
        if not self.settings.erase_keeps_text:
            redaction = Redaction(ANONYMOUS, REMOVED_TEXT)
        erased = 0
        # Each step takes its comments out of the index, so this ends; a comment the same
        # reader posts meanwhile is erased too.
        while comment_ids := self.rights_store.comment_ids(email_hash, self.batch):
            if self.spam_filter is not None:
                # What the filter learned from them keeps nothing that identifies the reader.
                self.spam_filter.forget_reader(comment_ids)
            locators = self.store.locate_many(comment_ids)
            for comment_id, locator in zip(comment_ids, locators, strict=True):
                if locator is not None and self._erase_one(
                    comment_id, locator, mode, redaction, act
                ):
                    erased += 1
            self.rights_store.unindex(email_hash, comment_ids)
        # Lookups a concurrent step may have written back after a comment was erased.
        self.rights_store.forget_email(email_hash)
        # A kept Idempotency-Key answer shows the comment as it was, avatar seed included (one
        # kept before seeds derived from the email hash shows the seed of then).
        seeds = (self.privacy.avatar_seed(email), self.privacy.avatar_seed_before(email))
        dropped = self.rights_store.drop_kept_answers(lambda raw: any(s in raw for s in seeds))
        blocked, _ = self.rights_store.email_facts(email_hash)
        log.info(
            "moderator %s erased one reader's data (%s): %d comment(s), %d kept answer(s)%s",
            moderator,
            mode,
            erased,
            dropped,
            "; the email stays on the block list" if blocked else "",
        )
        return {"erased": erased, "mode": mode, "blocked": blocked}

    def _erase_one(
        self, comment_id: str, locator: Locator, mode: str, redaction: Redaction, act: Act
    ) -> bool:
        """Erase one comment in one atomic step, with its readers' reports (their notes may
        speak of the reader); tell whether there was one to erase."""
        if mode == "delete":
            outcome = self.rights_store.delete(comment_id, locator, act)
            return outcome in ("deleted", "placeholder")
        redacted = self.rights_store.redact(comment_id, locator, redaction, forget_email=True)
        if not redacted.was_indexed:
            return False  # gone, or erased by a concurrent request that counts it
        self.store.audit(
            {
                "action": "anonymize",
                "moderator": act.moderator,
                "comment_id": comment_id,
                "article_id": locator.article_id,
                "before": redacted.state,
                "after": redacted.state,
            }
        )
        return True

    # --- retention ----------------------------------------------------------------------
    def apply_retention(self, now: datetime | None = None) -> RetentionReport:
        """Remove IP and user agent from comments decided `ip_retention_days` ago (the email
        stays), and all private data of rejected and spam comments decided
        `reject_retention_days` ago (the comment stays, unlinked from the email). 0 turns a
        rule off. Safe to repeat, and to run on several hosts at once."""
        now = now or datetime.now(UTC)
        ip_days, reject_days = self.settings.ip_retention_days, self.settings.reject_retention_days
        rules = Retention(
            ip_cutoff=now - timedelta(days=ip_days) if ip_days > 0 else None,
            reject_cutoff=now - timedelta(days=reject_days) if reject_days > 0 else None,
        )
        ip_removed = private_deleted = 0
        for status in DECIDED:
            after: str | None = None
            while comment_ids := self.rights_store.in_state(status, self.batch, after):
                after = comment_ids[-1]
                removed, deleted = self._retain_batch(comment_ids, status, rules)
                ip_removed += removed
                private_deleted += deleted
        log.info(
            "retention: IP and user agent removed from %d comment(s), private data deleted from "
            "%d rejected or spam comment(s)",
            ip_removed,
            private_deleted,
        )
        return RetentionReport(ip_removed, private_deleted)

    def _retain_batch(
        self, comment_ids: list[str], status: Status, rules: Retention
    ) -> tuple[int, int]:
        """Apply the retention rules to one batch of comments in one state."""
        located = [
            (comment_id, locator)
            for comment_id, locator in zip(
                comment_ids, self.store.locate_many(comment_ids), strict=True
            )
            if locator is not None
        ]
        decisions = self.rights_store.decisions(
            [(locator.article_id, comment_id) for comment_id, locator in located]
        )
        # Only what a rule applies to is read further; most comments stop here.
        due = []
        for (comment_id, locator), decided in zip(located, decisions, strict=True):
            moment = _moment(decided.decided_at)
            rule = rules.due(status, moment) if decided.state == status else None
            if rule is not None and decided.kept is not None:
                due.append((comment_id, locator, decided.kept, rule))
        sealed = self.rights_store.sealed(
            [(locator.article_id, comment_id) for comment_id, locator, _, _ in due]
        )
        ip_removed = private_deleted = 0
        for (comment_id, locator, kept_decided_at, rule), private in zip(due, sealed, strict=True):
            if private is None:
                continue  # already gone
            if rule == "delete":
                redacted = self.rights_store.redact(
                    comment_id,
                    locator,
                    Redaction(),
                    forget_email=False,
                    only_if=(status, kept_decided_at),
                )
                private_deleted += redacted.had_private
            else:
                ip_removed += self._strip_client(locator.article_id, comment_id, private)
        return ip_removed, private_deleted

    def _strip_client(self, article_id: str, comment_id: str, sealed: bytes) -> bool:
        """Re-seal a comment's private data without IP and user agent; tell whether it had
        any to remove."""
        try:
            private = self.privacy.decrypt(sealed)
        except PrivateDataError:
            log.warning("retention: comment %s's private data does not open; left", comment_id)
            return False
        if not private.ip and not private.user_agent:
            return False
        resealed = self.privacy.encrypt(PrivateData(private.email, "", ""))
        return self.rights_store.reseal(article_id, comment_id, sealed, resealed)


def _moment(value: str | None) -> datetime | None:
    """Read an RFC 3339 moment (None when absent or malformed)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
