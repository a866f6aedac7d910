"""The Redis reads and writes of readers' reports (service/reports.py).

A comment's reports live beside it, in its article's bucket (one hash slot), so counting a
report and taking the comment out of publication at the threshold is one Lua step
(`lua/report.lua`, sharing `_publication.lua` with the other transitions). Reporters are kept
only as keyed hashes of their client address, per comment. Key names come from
`service.keys.Keys` only; Redis failures become `StoreUnavailable`, as in `service.store`.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field

from service.keys import BUCKETS
from service.store import (
    AUDIT_LENGTH,
    Locator,
    Store,
    _decoded,
    _guarded,
    _script_source,
    _text,
)

# A comment keeps the details (reason, note, time) of this many open reports; later ones are
# counted by reason only, so a much-reported comment stays small.
REPORT_DETAILS_KEPT = 50


@dataclass(frozen=True)
class ReportSummary:
    """What moderators see of a comment's open reports."""

    count: int
    reasons: dict[str, int]
    entries: list[dict[str, str]] = field(default_factory=list)
    hidden_at: str | None = None


def summary_of(fields: dict[str, str]) -> ReportSummary | None:
    """Read a comment's reports hash (None when it has no open report)."""
    reasons = {
        name.removeprefix("n:"): int(value)
        for name, value in fields.items()
        if name.startswith("n:") and int(value) > 0
    }
    if not reasons:
        return None
    numbered = sorted(
        (json.loads(value) for name, value in fields.items() if name.startswith("r:")),
        key=lambda detail: (int(detail.get("n", 0)), str(detail.get("at", ""))),
    )
    # In order of arrival (`n`, given by the report step), which is not shown.
    entries = [
        {name: value for name, value in detail.items() if name != "n"} for detail in numbered
    ]
    return ReportSummary(
        count=sum(reasons.values()),
        reasons=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        entries=entries,
        hidden_at=fields.get("hidden"),
    )


class ReportsStore:
    """Count readers' reports and list them, on top of the comment store (decisions, deletions
    and erasures take them away in their own steps)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.client = store.client
        self.keys = store.keys
        self._report = self.client.register_script(_script_source("report"))
        self._dismiss = self.client.register_script(_script_source("dismiss_reports"))

    # --- writes -------------------------------------------------------------------------
    @_guarded
    def report(
        self,
        comment_id: str,
        locator: Locator,
        reporter: str,
        details: dict[str, str],
        threshold: int,
        now_ms: int,
    ) -> tuple[str, int]:
        """Count one client's report of a published comment, and take the comment out of
        publication when `threshold` clients have reported it (0: never); answer "repeat",
        "missing", "reported" or "hidden", with the open reports."""
        self.store._before_write()
        bucket, article_id = locator.bucket, locator.article_id
        result = self.store.writes.run(
            self._report,
            keys=[
                *self.store._transition_keys(comment_id, locator),
                self.keys.reports(article_id, comment_id),
                self.keys.reporters(article_id, comment_id),
                self.keys.reported(bucket),
                self.keys.audit(bucket),
                self.keys.events(bucket),
            ],
            args=[
                *self.store._transition_args(comment_id, locator),
                reporter,
                details["reason"],
                json.dumps(details, ensure_ascii=False),
                threshold,
                details["at"],
                now_ms,
                AUDIT_LENGTH,
                self.store.events_kept,
                REPORT_DETAILS_KEPT,
            ],
        )
        verdict = _text(result[0])
        return verdict, int(result[1]) if len(result) > 1 else 0

    @_guarded
    def dismiss(self, comment_id: str, locator: Locator, moderator: str) -> tuple[str, str | None]:
        """Dismiss a comment's open reports, publishing it again if they took it out; answer
        "missing", "none" (nothing to dismiss) or "dismissed", with its state after."""
        self.store._before_write()
        bucket = locator.bucket
        result = self.store.writes.run(
            self._dismiss,
            keys=[
                *self.store._transition_keys(comment_id, locator),
                self.keys.reports(locator.article_id, comment_id),
                self.keys.reported(bucket),
                self.keys.audit(bucket),
                self.keys.events(bucket),
            ],
            args=[
                *self.store._transition_args(comment_id, locator),
                moderator,
                AUDIT_LENGTH,
                self.store.events_kept,
            ],
        )
        return _text(result[0]), _text(result[1]) if len(result) > 1 else None

    @_guarded
    # --- reads --------------------------------------------------------------------------
    @_guarded
    def summaries(self, references: list[tuple[str, str]]) -> list[ReportSummary | None]:
        """Read the open reports of (article id, comment id) pairs, in one pipeline."""
        if not references:
            return []
        pipe = self.client.pipeline(transaction=False)
        for article_id, comment_id in references:
            pipe.hgetall(self.keys.reports(article_id, comment_id))
        return [summary_of(_decoded(fields)) for fields in pipe.execute()]

    @_guarded
    def most_reported(self, limit: int, after: tuple[int, str] | None) -> list[tuple[str, int]]:
        """List up to `limit` (comment id, open reports) pairs, most reported first, then newest
        first, after the cursor (count, id) when given: the buckets' shares merged."""
        keys = [self.keys.reported(bucket) for bucket in range(BUCKETS)]
        # Comments tied with the cursor's count come before it or after it by id: read them all.
        ties = [0] * BUCKETS
        if after is not None:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.zcount(key, after[0], after[0])
            ties = [int(count) for count in pipe.execute()]
        pipe = self.client.pipeline(transaction=False)
        for key, tied in zip(keys, ties, strict=True):
            pipe.zrange(
                key,
                after[0] if after else "+inf",
                "-inf",
                byscore=True,
                desc=True,
                offset=0,
                num=limit + tied,
                withscores=True,
            )
        ranked = heapq.merge(
            *(
                [(int(score), _text(member)) for member, score in answer]
                for answer in pipe.execute()
            ),
            reverse=True,
        )
        page = [
            (comment_id, count)
            for count, comment_id in ranked
            if after is None or (count, comment_id) < after
        ]
        return page[:limit]
