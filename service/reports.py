"""Readers' reports: a reader flags a published comment; enough readers take it out of
publication until a moderator looks; moderators list, dismiss or decide.

A reporter is named only by a keyed hash of their client (IPv4 address or IPv6 network), keyed
per comment, so one client reports a comment once and their reports cannot be linked.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from service.addresses import client_key, normalize_address
from service.admission import Refused
from service.comments import rfc3339
from service.errors import CommentNotFound
from service.models import ReportReason
from service.privacy import Privacy
from service.rate_limits import RateLimits
from service.reports_store import ReportsStore, ReportSummary
from service.settings import Settings
from service.store import Store

log = logging.getLogger(__name__)

REPORT_RECEIVED = "Thank you, a moderator will look at it."
REPORT_RATE_MESSAGE = "You have sent too many reports. Please wait before reporting again."


class Reports:
    """What readers and moderators do with reports of published comments."""

    def __init__(
        self, store: Store, privacy: Privacy, settings: Settings, limits: RateLimits
    ) -> None:
        self.store = store
        self.reports_store = ReportsStore(store)
        self.privacy = privacy
        self.settings = settings
        self.limits = limits

    def report(
        self,
        article_id: str,
        comment_id: str,
        reason: ReportReason,
        note: str | None,
        ip: str,
    ) -> bool:
        """Count a client's report of a published comment; tell whether it was this client's
        first (a repeat changes nothing). 404 for a comment that is not published."""
        client = client_key(normalize_address(ip) or ip, self.settings.ipv6_prefix_length)
        wait = self.limits.hit(self.privacy.client_hash(client))
        if wait is not None:
            raise Refused(HTTPStatus.TOO_MANY_REQUESTS, REPORT_RATE_MESSAGE, "report_rate", wait)
        [locator] = self.store.locate_many([comment_id])
        if locator is None or locator.article_id != article_id:
            raise CommentNotFound()
        now = datetime.now(UTC)
        details = {"reason": str(reason), "at": rfc3339(now)}
        if note:
            details["note"] = note
        verdict, count = self.reports_store.report(
            comment_id,
            locator,
            self.privacy.reporter_hash(comment_id, client),
            details,
            self.settings.report_threshold,
            int(now.timestamp() * 1000),
        )
        if verdict == "missing":
            raise CommentNotFound()
        if verdict == "hidden":
            log.info("comment %s left publication after %d readers' reports", comment_id, count)
        return verdict != "repeat"

    def dismiss(self, comment_id: str, moderator: str) -> str | None:
        """Dismiss a comment's open reports (a comment they took out of publication is published
        again); answer its state after. Dismissing nothing changes nothing."""
        [locator] = self.store.locate_many([comment_id])
        if locator is None:
            raise CommentNotFound()
        outcome, state = self.reports_store.dismiss(comment_id, locator, moderator)
        if outcome == "missing":
            raise CommentNotFound()
        if outcome == "dismissed":
            log.info("moderator %s dismissed the reports of comment %s", moderator, comment_id)
        return state


def with_reports(reports_store: ReportsStore, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each comment's open reports to moderators' views of it (`reports`, null for none);
    a comment the reports took out of publication says so in its `reasons`."""
    summaries = reports_store.summaries([(view["article_id"], view["id"]) for view in views])
    for view, summary in zip(views, summaries, strict=True):
        view["reports"] = _shown(summary)
        if summary is not None and summary.hidden_at:
            view["reasons"] = [*view.get("reasons", []), _hidden_reason(summary)]
    return views


def _shown(summary: ReportSummary | None) -> dict[str, Any] | None:
    """Shape open reports for moderators."""
    if summary is None:
        return None
    return {
        "count": summary.count,
        "reasons": summary.reasons,
        "entries": summary.entries,
        "hidden_at": summary.hidden_at,
    }


def _hidden_reason(summary: ReportSummary) -> str:
    """Say why the reports took a comment out of publication: how many, for what."""
    reasons = ", ".join(f"{reason} {count}" for reason, count in summary.reasons.items())
    return f"reported by {summary.count} readers ({reasons})"
