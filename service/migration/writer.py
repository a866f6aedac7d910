"""Write comments read from another system: validated as the reply form would, threads kept.

Each comment is written atomically by the submit script, as a reader's reply is (flood rule off,
no queue limit, no webhook events), so an import into a running site never leaves the counts,
the moderators' views or the published lists half changed. Comments go in batches on one
pipeline; a batch holds a group's comments parents first, so a reply finds its parent written.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from service.admission import duplicate_fingerprint
from service.comments import rfc3339
from service.keys import article_bucket
from service.migration import (
    MAX_BODY_LENGTH,
    MAX_NAME_LENGTH,
    QUEUED_REMARK,
    Report,
    SourceComment,
    clean_text,
    clean_website,
    import_store,
    normalized_email,
    parents_first,
)
from service.migration.batch import BatchWriter
from service.migration.html_text import html_to_text
from service.models import Act, Comment, PrivateData, Status, anchor_for_reply
from service.privacy import Privacy
from service.schemas import valid_display_name
from service.store import Locator, Outcome, Store
from service.text import render_body

BATCH = 500
DELETED_TEXT = "[deleted]"
WAITING_PARENT = "replies to a comment waiting for moderation came in on top"


@dataclass(frozen=True)
class _Prepared:
    """A comment ready to write, and the state it must end in."""

    item: SourceComment
    comment: Comment
    sealed: bytes
    locator: Locator
    status: Status


@dataclass(frozen=True)
class _Placed:
    """A stored comment that replies go under."""

    comment: Comment
    root_ms: int


def comment_id_for(source: str, article_id: str, source_id: str, created_ms: int) -> str:
    """Give an imported comment's id: its time (so it sorts), then a hash of where it came from,
    so a second import of the same comment finds it."""
    digest = hashlib.sha256(f"{source}\x1f{article_id}\x1f{source_id}".encode()).hexdigest()
    return f"{max(created_ms, 0):012x}{article_bucket(article_id):02x}{digest[:10]}"


def import_comments(
    store: Store,
    privacy: Privacy,
    source: str,
    groups: Iterable[Sequence[SourceComment]],
    report: Report | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> Report:
    """Validate and store comments from another system, group by group (an article's or a
    thread's comments); with `dry_run`, only count what would come in.

    A deleted comment is skipped unless it has replies; then it stands as rejected. A comment
    with replies is written approved (a reply needs a published parent) and moved to its real
    state once its group is in. A re-run finds each comment by its id and adds nothing.
    """
    writer = _GroupWriter(store, privacy, source, report or Report(), dry_run, batch)
    # Small groups (a post's few comments) are written together: one round trip for many.
    gathered: list[SourceComment] = []
    for group in itertools.chain(groups, [[]]):
        gathered += group
        if gathered and (len(gathered) >= batch or not group):
            writer.write(gathered)
            if progress is not None:
                progress(len(gathered))
            gathered = []
    return writer.report


class _GroupWriter:
    """Write one group after another, in batches."""

    def __init__(
        self,
        store: Store,
        privacy: Privacy,
        source: str,
        report: Report,
        dry_run: bool,
        batch: int,
    ) -> None:
        self.store = import_store(store)
        self.privacy = privacy
        self.source = source
        self.report = report
        self.batch_size = batch
        self.sender = BatchWriter(self.store, dry_run)
        now = datetime.now(UTC)
        self.act = Act(f"import:{source}", rfc3339(now))
        self.now_ms = int(now.timestamp() * 1000)

    def write(self, items: Sequence[SourceComment]) -> None:
        """Write a group's comments, parents before replies, then settle the parents' states."""
        known = {item.source_id for item in items}
        # Every comment comes in in its own state; a reply under a parent that is not published
        # shows it as a placeholder, as when a moderator removes a comment with replies.
        with_replies = {item.parent_source_id for item in items if item.parent_source_id}
        placed: dict[str, _Placed] = {}
        gone: set[str] = set()
        later: list[_Prepared] = []
        queue = _creation_order(items)
        while queue:
            waiting: list[SourceComment] = []
            batch: list[_Prepared] = []
            for item in queue:
                parent_id = item.parent_source_id
                parent: _Placed | None = None
                if parent_id and parent_id in known and parent_id not in gone:
                    parent = placed.get(parent_id)
                    if parent is None:
                        waiting.append(item)  # its parent's outcome is not known yet
                        continue
                elif parent_id:
                    self.report.remarks["replies whose parent did not come in came in on top"] += 1
                prepared = self._prepare(item, parent, item.source_id in with_replies)
                if prepared is None:
                    gone.add(item.source_id)
                    continue
                batch.append(prepared)
                # Replies in the same batch hang under this one, written just before them.
                placed[item.source_id] = _Placed(prepared.comment, prepared.locator.root_ms)
                if len(batch) >= self.batch_size:
                    waiting += self._flush(batch, placed, gone, later)
                    batch = []
            waiting += self._flush(batch, placed, gone, later)
            if len(waiting) == len(queue):
                for item in waiting:
                    self.report.skip(self._label(item), "its parent could not be placed")
                break
            queue = [item for item in waiting if item.source_id not in gone]
        self.sender.settle([(p.comment.comment_id, p.locator, p.status) for p in later], self.act)

    def _flush(
        self,
        batch: list[_Prepared],
        placed: dict[str, _Placed],
        gone: set[str],
        later: list[_Prepared],
    ) -> list[SourceComment]:
        """Send a batch; record each outcome; answer the replies to try again."""
        if not batch:
            return []
        again: list[SourceComment] = []
        outcomes = self.sender.add(batch_entries(batch))
        for prepared, outcome in zip(batch, outcomes, strict=True):
            item = prepared.item
            tally = self.report.article(item.article_id)
            verdict = outcome.verdict
            if verdict == "created":
                self.report.imported += 1
                tally.imported += 1
                if prepared.status is Status.PENDING:
                    self.report.remarks[QUEUED_REMARK] += 1
                if prepared.comment.status is not prepared.status:
                    later.append(prepared)
            elif verdict in ("exists", "duplicate"):
                self.report.present += 1
                tally.present += 1
                found = self._found(prepared, outcome)
                if found is None:
                    gone.add(item.source_id)
                    placed.pop(item.source_id, None)
                else:
                    placed[item.source_id] = found
                    if self._unsettled(found.comment, prepared):
                        later.append(prepared)
            elif verdict == "no_parent" and self._parent_moved(prepared, placed):
                placed.pop(item.source_id, None)
                again.append(item)
            else:
                reason = (
                    "its parent is no longer published here"
                    if verdict == "no_parent"
                    else f"the store answered {verdict}"
                )
                self.report.skip(self._label(item), reason, item.article_id)
                gone.add(item.source_id)
                placed.pop(item.source_id, None)
        return again

    def _found(self, prepared: _Prepared, outcome: Outcome) -> _Placed | None:
        """Give the stored comment a re-imported one stands for (None when it is gone)."""
        if self.sender.dry_run:
            return _Placed(prepared.comment, prepared.locator.root_ms)
        comment_id = outcome.detail or prepared.comment.comment_id
        fields = self.store.comment_fields(prepared.item.article_id, comment_id)
        [locator] = self.store.locate_many([comment_id])
        if not fields or locator is None:
            return None
        return _Placed(Comment.from_fields(fields), locator.root_ms)

    def _unsettled(self, stored: Comment, prepared: _Prepared) -> bool:
        """Whether an earlier, interrupted import left this comment approved for its replies."""
        return (
            not self.sender.dry_run
            and prepared.status is not Status.APPROVED
            and stored.comment_id == prepared.comment.comment_id
            and stored.status is Status.APPROVED
            and stored.decided_by == self.act.moderator
        )

    @staticmethod
    def _parent_moved(prepared: _Prepared, placed: dict[str, _Placed]) -> bool:
        """Whether the reply's parent turned out to be another stored comment than assumed."""
        parent_id = prepared.item.parent_source_id
        parent = placed.get(parent_id) if parent_id else None
        return parent is not None and parent.comment.comment_id != prepared.comment.parent_id

    def _label(self, item: SourceComment) -> str:
        return f"{self.source} comment {item.source_id}"

    def _prepare(
        self, item: SourceComment, parent: _Placed | None, has_replies: bool
    ) -> _Prepared | None:
        """Check one comment as the reply form would and build what the store writes."""
        label = self._label(item)
        status = item.status
        if status is None and not has_replies:
            self.report.skip(label, "deleted", item.article_id)
            return None
        body = clean_text(html_to_text(item.body))
        if status is None:
            body = DELETED_TEXT  # kept only so its replies keep their place; never shown
        if not body:
            self.report.skip(label, "no text", item.article_id)
            return None
        if len(body) > MAX_BODY_LENGTH:
            self.report.skip(label, f"text over {MAX_BODY_LENGTH} characters", item.article_id)
            return None
        email = normalized_email(item.email) if status is not None else None
        if email is None and status is not None:
            remark = "invalid email" if item.email.strip() else "no email"
            self.report.remarks[f"comment(s) with {remark} came in, never findable by email"] += 1
        cleaned = clean_text(item.name).replace("\n", " ")[:MAX_NAME_LENGTH].strip()
        name = valid_display_name(cleaned) if cleaned else None
        if name is None:
            if cleaned:
                self.report.remarks["name(s) the reply form would refuse came in as Anonymous"] += 1
            name = "Anonymous"
        status = Status.REJECTED if status is None else status
        return self._build(item, parent, status, body, email or "", name)

    def _build(
        self,
        item: SourceComment,
        parent: _Placed | None,
        status: Status,
        body: str,
        email: str,
        name: str,
    ) -> _Prepared:
        created_ms = max(_ms(item.created), 0)
        comment_id = comment_id_for(self.source, item.article_id, item.source_id, created_ms)
        if parent is None:
            root_id, anchor_id, depth, parent_id = comment_id, None, 1, None
        else:
            above = parent.comment
            root_id = above.root_id
            anchor_id, depth, parent_id = anchor_for_reply(above), above.depth + 1, above.comment_id
        decided = status is not Status.PENDING
        email_hash = self.privacy.email_hash(email) if email else ""
        comment = Comment(
            comment_id=comment_id,
            article_id=item.article_id,
            parent_id=parent_id,
            root_id=root_id,
            anchor_id=anchor_id,
            depth=depth,
            name=name,
            website=clean_website(item.website),
            body=body,
            body_html=render_body(body),
            created_at=rfc3339(datetime.fromtimestamp(created_ms / 1000, UTC)),
            created_ms=created_ms,
            avatar=self.privacy.avatar_seed(email or f"name:{name}"),
            status=status,
            decided_by=self.act.moderator if decided else None,
            decided_at=self.act.at if decided else None,
            reasons=(f"imported from {self.source}",),
            # It joins the queue now, whatever its date: the purge counts its wait from here.
            queued_ms=self.now_ms if status is Status.PENDING else None,
            # No email: never in the email index; the duplicate rule keys on the source comment.
            email_hash=email_hash,
            fingerprint=duplicate_fingerprint(
                item.article_id,
                parent_id,
                email_hash or f"import:{self.source}:{item.source_id}",
                body,
            ),
        )
        sealed = self.privacy.encrypt(PrivateData(email, item.ip, ""))
        return _Prepared(item, comment, sealed, Locator.of(comment), status)


def batch_entries(batch: list[_Prepared]) -> list[tuple[Comment, bytes, Locator]]:
    """Give what `Store.add_many` takes for each prepared comment."""
    return [(p.comment, p.sealed, p.locator) for p in batch]


def _creation_order(items: Sequence[SourceComment]) -> list[SourceComment]:
    """Order comments by creation, each after its parent whatever the source's dates say."""
    rank = {
        item.source_id: f"{max(_ms(item.created), 0):015d}|{index:09d}"
        for index, item in enumerate(sorted(items, key=lambda item: (item.created, item.source_id)))
    }
    return parents_first(
        items,
        lambda item: rank[item.source_id],
        lambda item: rank.get(item.parent_source_id) if item.parent_source_id else None,
    )


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch of a moment (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


__all__ = ["comment_id_for", "import_comments"]
