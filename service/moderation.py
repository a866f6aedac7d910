"""Moderators' use cases: queues, decisions, edits, deletion, purge, stats, audit; site rules."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import email_validator

from service import records
from service.addresses import normalize_address, normalize_network
from service.comments import record_view, rfc3339
from service.errors import CommentNotFound, InvalidField
from service.models import Act, Decision, ReasonCode, Status
from service.privacy import Privacy, PrivateDataError
from service.reports import with_reports
from service.reports_store import ReportsStore
from service.settings import Settings
from service.spam_learning import SpamFilter
from service.store import Locator, Store, StoreUnavailable

log = logging.getLogger(__name__)
AUDIT_BATCH = 200
SEARCH_BATCH = 200
# A search of the queues reads at most this many comments per request, then hands a cursor back.
SEARCH_SCAN_LIMIT = 5000


@dataclass(frozen=True)
class QueueSearch:
    """What moderators look for in a queue: an email (by its keyed hash), an IP, some text."""

    email: str | None = None
    ip: str | None = None
    text: str | None = None

    @property
    def is_empty(self) -> bool:
        """Tell whether nothing is searched for."""
        return not (self.email or self.ip or self.text)

    def matches(self, view: dict[str, Any], status: Status, article_id: str | None) -> bool:
        """Tell whether a comment, as moderators see it, is one searched for."""
        if self.email and (
            view["status"] != status or (view["email"] or "").casefold() != self.email.casefold()
        ):
            return False
        if self.email and article_id and view["article_id"] != article_id:
            return False
        if self.ip and normalize_address(view["ip"] or "") != normalize_address(self.ip):
            return False
        if self.text:
            needle = self.text.casefold()
            haystack = f"{view['name'] or ''}\n{view['body'] or ''}".casefold()
            if needle not in haystack:
                return False
        return True


# A filtered read of the audit log looks at most this many entries per request.
AUDIT_SCAN_LIMIT = 20_000


class ModerationService:
    """What moderators do with submitted comments."""

    def __init__(
        self, store: Store, privacy: Privacy, spam_filter: SpamFilter | None = None
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.reports = ReportsStore(store)
        self.spam_filter = spam_filter

    def queue(
        self,
        status: Status,
        article_id: str | None,
        limit: int,
        cursor: str | None,
        search: QueueSearch | None = None,
    ) -> dict[str, Any]:
        """List comments in one state, pending oldest first, with a cursor to the next page;
        optionally only those of one email, one IP, or containing some text."""
        if search is None or search.is_empty:
            comment_ids = self.store.queue_slice(status, article_id, limit + 1, cursor)
            page_ids = comment_ids[:limit]
            comments = self._views(page_ids)
            next_cursor = page_ids[-1] if len(comment_ids) > limit else None
            return {"comments": comments, "next_cursor": next_cursor}
        return self._search(status, article_id, limit, cursor, search)

    def reported(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """List comments with open reports, in any state, most reported first (then newest),
        with a cursor (`<reports>-<id>`) to the next page."""
        after = None
        if cursor:
            count, _, last_id = cursor.partition("-")
            after = (int(count), last_id)
        found = self.reports.most_reported(limit + 1, after)
        page = found[:limit]
        next_cursor = f"{page[-1][1]}-{page[-1][0]}" if len(found) > limit else None
        views = self._views([comment_id for comment_id, _ in page])
        return {"comments": views, "next_cursor": next_cursor}

    def _search(
        self,
        status: Status,
        article_id: str | None,
        limit: int,
        cursor: str | None,
        search: QueueSearch,
    ) -> dict[str, Any]:
        """Scan an index in order, a batch at a time, keeping the comments that match; the IP
        and text are sealed or free, so they are compared after reading, up to a scan limit."""
        email_hash = self.privacy.email_hash(search.email) if search.email else None
        found: list[dict[str, Any]] = []
        scanned = 0
        while len(found) < limit and scanned < SEARCH_SCAN_LIMIT:
            batch = self.store.queue_slice(status, article_id, SEARCH_BATCH, cursor, email_hash)
            if not batch:
                return {"comments": found, "next_cursor": None}
            for view in self._views(batch):
                if search.matches(view, status, article_id):
                    found.append(view)
            scanned += len(batch)
            cursor = batch[-1]
            if len(found) >= limit:
                break
        page = found[:limit]
        # Continue after the last comment shown, or after the last one scanned.
        next_cursor = page[-1]["id"] if len(found) > limit else cursor
        return {"comments": page, "next_cursor": next_cursor}

    def _views(self, comment_ids: list[str]) -> list[dict[str, Any]]:
        locators = self.store.locate_many(comment_ids)
        references = [
            (locator.article_id, comment_id)
            for comment_id, locator in zip(comment_ids, locators, strict=True)
            if locator is not None
        ]
        records = self.store.moderation_records(references)
        views = [self._view(fields, sealed) for fields, sealed in records if fields]
        return with_reports(self.reports, views)

    def get(self, comment_id: str) -> dict[str, Any]:
        """Read one comment with its private data and the history of its text."""
        locator = self._locate(comment_id)
        view = self._read(comment_id, locator)
        view["revisions"] = self.store.revisions(locator.article_id, comment_id)
        return view

    def _read(self, comment_id: str, locator: Locator) -> dict[str, Any]:
        [(fields, sealed)] = self.store.moderation_records([(locator.article_id, comment_id)])
        if not fields:
            raise CommentNotFound()
        [view] = with_reports(self.reports, [self._view(fields, sealed)])
        return view

    def decide(
        self,
        comment_id: str,
        decision: Decision,
        moderator: str,
        reason: str | None = None,
        reason_code: ReasonCode | None = None,
    ) -> dict[str, Any]:
        """Approve, reject or mark as spam; the same decision again changes nothing."""
        locator = self._locate(comment_id)
        act = Act(moderator, rfc3339(datetime.now(UTC)), reason, reason_code)
        # The step also takes the readers' open reports away, whatever the decision.
        outcome, previous, raw = self.store.decide_and_read(
            comment_id, locator, decision.status, act
        )
        if outcome == "missing" or raw is None:
            raise CommentNotFound()
        if outcome == "changed":
            log.info(
                "moderator %s moved comment %s from %s to %s",
                moderator,
                comment_id,
                previous,
                decision.status,
            )
        fields, sealed = records.unpack_with_sealed(locator.article_id, comment_id, raw)
        self._learn(locator.article_id, comment_id, (fields, sealed))
        return self._view(fields, sealed) | {"reports": None}

    def _learn(
        self,
        article_id: str,
        comment_id: str,
        read: tuple[dict[str, str], bytes | None] | None = None,
    ) -> None:
        """Teach the spam filter what a comment's state now says (`read`: its record and sealed
        private data as the decision left them); a filter that cannot reach its store never
        fails the decision, which is already taken."""
        if self.spam_filter is None:
            return
        try:
            self.spam_filter.learn_comment(article_id, comment_id, read)
        except StoreUnavailable:
            log.warning("comment %s: the spam filter did not learn this decision", comment_id)

    def decide_many(
        self,
        comment_ids: list[str],
        decision: Decision,
        moderator: str,
        reason: str | None = None,
        reason_code: ReasonCode | None = None,
    ) -> list[dict[str, Any]]:
        """Take one decision on many comments, each atomically; answer a result per id."""
        act = Act(moderator, rfc3339(datetime.now(UTC)), reason, reason_code)
        unique = list(dict.fromkeys(comment_ids))
        results = []
        for comment_id, locator in zip(unique, self.store.locate_many(unique), strict=True):
            # Each step also takes the comment's open reports away.
            outcome, previous, raw = (
                self.store.decide_and_read(comment_id, locator, decision.status, act)
                if locator is not None
                else ("missing", None, None)
            )
            found = outcome != "missing"
            if found and locator is not None and raw is not None:
                read = records.unpack_with_sealed(locator.article_id, comment_id, raw)
                self._learn(locator.article_id, comment_id, read)
            results.append(
                {
                    "id": comment_id,
                    "outcome": outcome if found else "not_found",
                    "previous_status": previous if outcome == "changed" else None,
                    "status": decision.status if found else None,
                }
            )
        changed = sum(result["outcome"] == "changed" for result in results)
        log.info(
            "moderator %s: %s on %d comment(s), %d changed",
            moderator,
            decision,
            len(unique),
            changed,
        )
        return results

    def stats(self) -> dict[str, Any]:
        """Count comments per state, tell how long the oldest pending one has waited and what
        the spam filter has learned."""
        counts, oldest_id = self.store.state_counts()
        oldest_at = age = None
        if oldest_id is not None:
            created_ms = int(oldest_id[:12], 16)
            oldest_at = rfc3339(datetime.fromtimestamp(created_ms / 1000, UTC))
            age = max(0, int(datetime.now(UTC).timestamp() - created_ms / 1000))
        return {
            "counts": {str(status): count for status, count in counts.items()},
            "oldest_pending_at": oldest_at,
            "oldest_pending_age_seconds": age,
            "spam_filter": self.spam_filter.learned() if self.spam_filter else None,
        }

    def audit(self, filters: dict[str, str], limit: int, before: str | None) -> dict[str, Any]:
        """Read the audit log newest first, filtered by moderator, article, comment or action."""
        wanted = {name: value for name, value in filters.items() if value}
        entries: list[dict[str, Any]] = []
        cursor, scanned = before, 0
        # Filters apply while reading, a bounded batch at a time; one entry past the page tells
        # whether there is a next one.
        while len(entries) <= limit and scanned < AUDIT_SCAN_LIMIT:
            batch = self.store.audit_entries(cursor, AUDIT_BATCH)
            for entry_id, fields in batch:
                scanned += 1
                if all(fields.get(name) == value for name, value in wanted.items()):
                    entries.append({"id": entry_id, **fields})
            if len(batch) < AUDIT_BATCH:
                break
            cursor = batch[-1][0]
        page = entries[:limit]
        more = len(entries) > limit or scanned >= AUDIT_SCAN_LIMIT
        return {"entries": page, "next_cursor": page[-1]["id"] if more and page else None}

    def edit(self, comment_id: str, body: str, moderator: str) -> dict[str, Any]:
        """Change a comment's text; the original and every edit stay visible to moderators."""
        locator = self._locate(comment_id)
        act = Act(moderator, rfc3339(datetime.now(UTC)))
        if self.store.edit(comment_id, locator, body, act) == "missing":
            raise CommentNotFound()
        log.info("moderator %s edited comment %s", moderator, comment_id)
        return self.get(comment_id)

    def delete(self, comment_id: str, moderator: str) -> None:
        """Delete a comment and all its private data; its published replies stay."""
        locator = self._locate(comment_id)
        # "missing" here means it went after we found it (another moderator, or this very
        # command re-sent after a lost reply): the comment is gone either way.
        act = Act(moderator, rfc3339(datetime.now(UTC)))
        # The step takes every trace of readers' reports with it.
        outcome = self.store.delete(comment_id, locator, act)
        log.info("moderator %s deleted comment %s (%s)", moderator, comment_id, outcome)

    def purge_pending(self, older_than_days: int, batch: int = 500) -> int:
        """Delete pending comments that have waited over some days; answer how many this call
        removed. A comment waits from when it joined the queue here: an imported one from its
        import (`queued_ms`), not from its date in the old system.

        Safe on several hosts at once: each deletion is one atomic step, and a comment another
        host removed first counts only there.
        """
        cutoff_ms = int((datetime.now(UTC).timestamp() - older_than_days * 86400) * 1000)
        act = Act("purge", rfc3339(datetime.now(UTC)))
        removed = 0
        after: str | None = None
        # Ids sort by creation, and a comment joins the queue at or after it: every comment
        # that has waited long enough is among those made before the cutoff.
        while comment_ids := self.store.pending_before(cutoff_ms, batch, after):
            after = comment_ids[-1]
            locators = self.store.locate_many(comment_ids)
            for comment_id, locator in zip(comment_ids, locators, strict=True):
                if locator is None:
                    continue
                outcome = self.store.delete(
                    comment_id, locator, act, only_if=Status.PENDING, queued_before=cutoff_ms
                )
                if outcome in ("deleted", "placeholder"):
                    removed += 1
        return removed

    def _locate(self, comment_id: str) -> Locator:
        [locator] = self.store.locate_many([comment_id])
        if locator is None:
            raise CommentNotFound()
        return locator

    def _view(self, fields: dict[str, str], sealed: bytes | None) -> dict[str, Any]:
        return moderator_view(self.privacy, fields, sealed)


def moderator_view(
    privacy: Privacy, fields: dict[str, str], sealed: bytes | None, *, export: bool = False
) -> dict[str, Any]:
    """Shape a stored comment as moderators see it, or (`export`) as a reader's data export
    gives it, where an IP or user agent removed by retention is absent rather than empty."""
    view = record_view(fields) | {"status": Status(fields["status"])}
    for name in ("decided_by", "decided_at", "reason", "reason_code", "edited_by", "edited_at"):
        view[name] = fields.get(name)
    view["reasons"] = json.loads(fields.get("reasons", "[]"))
    private = None
    if sealed:
        try:
            private = privacy.decrypt(sealed)
        except PrivateDataError:
            # Sealed with another secret key: the record is shown, its private data is not.
            log.warning(
                "comment %s: its private data does not open with this secret key", view["id"]
            )
            view["private_unreadable"] = True
    view["email"] = private.email if private else None
    view["ip"] = private.ip if private else None
    view["user_agent"] = private.user_agent if private else None
    if export:
        view["ip"] = view["ip"] or None
        view["user_agent"] = view["user_agent"] or None
    return view


class SiteRules:
    """What moderators set for the rules: closed articles, moderation modes, the block list."""

    def __init__(self, store: Store, privacy: Privacy, settings: Settings) -> None:
        self.store = store
        self.privacy = privacy
        self.settings = settings

    def article(self, article_id: str) -> dict[str, Any]:
        """Describe an article's comment settings."""
        return self._describe(article_id, self.store.article_settings(article_id))

    def articles(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """List articles with comments, newest first, with their counts per state."""
        after = None
        if cursor:
            score, _, last = cursor.partition("-")
            after = (int(score), last)
        page = self.store.articles_page(limit + 1, after)
        articles = [
            self._describe(article_id, stored)
            | {
                "first_comment_at": rfc3339(datetime.fromtimestamp(first_ms / 1000, UTC)),
                "counts": {str(status): count for status, count in counts.items()},
            }
            for article_id, first_ms, counts, stored in page[:limit]
        ]
        next_cursor = None
        if len(page) > limit:
            last_id, last_ms, _, _ = page[limit - 1]
            next_cursor = f"{last_ms}-{last_id}"
        return {"articles": articles, "next_cursor": next_cursor}

    def close(self, article_id: str, closed: bool, moderator: str) -> dict[str, Any]:
        """Close or reopen comments on an article."""
        stored = self.store.set_article(article_id, {"closed": "1" if closed else "0"})
        self._audit("close" if closed else "reopen", moderator, article_id=article_id)
        log.info(
            "moderator %s %s article %s", moderator, "closed" if closed else "reopened", article_id
        )
        return self._describe(article_id, stored)

    def set_mode(self, article_id: str, mode: str | None, moderator: str) -> dict[str, Any]:
        """Give an article its own moderation mode, or return it to the site's."""
        stored = self.store.set_article(article_id, {"moderation_mode": mode or ""})
        self._audit("moderation_mode", moderator, article_id=article_id, after=mode or "site")
        log.info("moderator %s set moderation of article %s to %s", moderator, article_id, mode)
        return self._describe(article_id, stored)

    def _describe(self, article_id: str, stored: dict[str, str]) -> dict[str, Any]:
        by_hand = {"1": True, "0": False}.get(stored.get("closed", ""))
        closes_at = None
        first_ms = int(stored.get("first_comment_ms", 0))
        if self.settings.close_after_days > 0 and first_ms:
            moment = first_ms / 1000 + self.settings.close_after_days * 86400
            closes_at = rfc3339(datetime.fromtimestamp(moment, UTC))
        closed = (
            by_hand
            if by_hand is not None
            else bool(closes_at and closes_at <= rfc3339(datetime.now(UTC)))
        )
        override = stored.get("moderation_mode") or None
        return {
            "article_id": article_id,
            "closed": closed,
            "closed_by_hand": by_hand,
            "closes_at": closes_at,
            "moderation_mode": override or self.settings.moderation_mode,
            "moderation_mode_override": override,
        }

    def blocks(self) -> dict[str, list[str]]:
        """List the block list, emails decrypted."""
        sealed_emails, domains, networks = self.store.blocks()
        emails = []
        for sealed in sealed_emails:
            try:
                emails.append(self.privacy.open_email(sealed))
            except PrivateDataError:
                log.warning("a blocked email does not open with this secret key")
        emails.sort()
        return {"emails": emails, "domains": domains, "networks": networks}

    def block(self, kind: str, value: str, blocked: bool, moderator: str) -> bool:
        """Add or lift a block; tell whether it changed anything."""
        normalized = self._normalized(kind, value)
        if kind == "email":
            email_hash = self.privacy.email_hash(normalized)
            if blocked:
                self.store.block_email(email_hash, self.privacy.seal_email(normalized))
                changed = True
            else:
                changed = self.store.unblock_email(email_hash)
        else:
            changed = self.store.block_value(f"{kind}s", normalized, blocked)
        if changed:
            # The audit names the kind of block, never the blocked email itself.
            shown = "" if kind == "email" else normalized
            self._audit(
                "block" if blocked else "unblock", moderator, after=f"{kind} {shown}".strip()
            )
        log.info("moderator %s %s a %s", moderator, "blocked" if blocked else "unblocked", kind)
        return changed

    def _audit(self, action: str, moderator: str, **fields: str) -> None:
        self.store.audit({"action": action, "moderator": moderator} | fields)

    @staticmethod
    def _normalized(kind: str, value: str) -> str:
        value = value.strip()
        try:
            if kind == "email":
                return str(
                    email_validator.validate_email(value, check_deliverability=False).normalized
                )
            if kind == "network":
                return str(normalize_network(value))
        except (ValueError, email_validator.EmailNotValidError) as error:
            raise InvalidField("value", str(error)) from error
        # The same normalization as submitted emails get, so a block always matches them.
        try:
            checked = email_validator.validate_email(
                f"x@{value.removeprefix('@')}", check_deliverability=False
            )
        except email_validator.EmailNotValidError as error:
            raise InvalidField("value", "Give a domain such as example.com.") from error
        return str(checked.domain).casefold()
