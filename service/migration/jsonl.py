"""Export every comment as JSON lines, private data sealed as stored, and import it back.

One object a line: `id`, `status`, `record` (the stored hash), `locator` (its fields, in the
locator's order), `private` (the Fernet token as stored, or null) and, for an edited comment,
`revisions`. Nothing is decrypted, so
the file needs the same secret key to be of use, and it shows no email.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from service.comments import rfc3339
from service.migration import Report, import_store, parents_first
from service.models import Act, Comment, Status
from service.store import Locator, Store

BATCH = 500


def export_records(store: Store, batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Walk the four state indexes in id order and give each comment's export object."""
    for status in Status.indexed():
        after: str | None = None
        while True:
            ids = store.ids_in_state(status, batch, after)
            if not ids:
                break
            after = ids[-1]
            pairs = [
                (comment_id, locator)
                for comment_id, locator in zip(ids, store.locate_many(ids), strict=True)
                if locator is not None
            ]
            records = store.moderation_records(
                (locator.article_id, comment_id) for comment_id, locator in pairs
            )
            for (comment_id, locator), (fields, sealed) in zip(pairs, records, strict=True):
                if not fields:
                    continue
                exported: dict[str, Any] = {
                    "id": comment_id,
                    "status": fields.get("status", str(status)),
                    "record": fields,
                    "locator": json.loads(locator.dumps()),
                    "private": sealed.decode() if sealed else None,
                }
                if "edited_at" in fields:
                    exported["revisions"] = store.revisions(locator.article_id, comment_id)
                yield exported


def export_jsonl(store: Store, out: TextIO) -> int:
    """Write every comment as one JSON line; answer how many were written."""
    count = 0
    for record in export_records(store):
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Read export objects, skipping blank lines."""
    return [json.loads(line) for line in lines if line.strip()]


def import_jsonl(store: Store, objects: Iterable[dict[str, Any]]) -> Report:
    """Write exported comments back, same ids, states, threads, dates and decisions.

    Parents go before replies. A reply needs an approved parent when it is written, so a parent
    with replies is written approved and moved to its exported state once they are in; then
    every written record is set back exactly as exported. Comments already there are left alone.
    """
    store = import_store(store)
    report = Report()
    items = list(objects)
    present_ids = {item["id"] for item in items}
    with_replies = {
        item["record"].get("parent_id") for item in items if item["record"].get("parent_id")
    }
    written: list[tuple[dict[str, Any], Locator]] = []
    later: list[tuple[str, Locator, Status]] = []
    for item in parents_first(
        items, lambda item: item["id"], lambda item: item["record"].get("parent_id")
    ):
        comment_id, record = item["id"], item["record"]
        locator = Locator(*item["locator"])
        parent_id = record.get("parent_id")
        if parent_id and parent_id not in present_ids:
            report.skipped.append(
                f"comment {comment_id}: its parent {parent_id} is not in the file"
            )
            continue
        status = Status(item["status"])
        written_status = Status.APPROVED if comment_id in with_replies else status
        comment = Comment.from_fields({**record, "status": str(written_status)})
        private = item.get("private")
        outcome = store.add(comment, private.encode() if private else b"", locator, flood=None)
        if outcome.verdict == "exists":
            report.present += 1
            continue
        if outcome.verdict != "created":
            report.skipped.append(f"comment {comment_id}: the store answered {outcome.verdict}")
            continue
        report.imported += 1
        written.append((item, locator))
        if written_status is not status:
            later.append((comment_id, locator, status))
    now = rfc3339(datetime.now(UTC))
    for comment_id, locator, status in reversed(later):
        store.decide(comment_id, locator, status, Act("import", now))
    _restore_exactly(store, written)
    return report


def _restore_exactly(store: Store, written: list[tuple[dict[str, Any], Locator]]) -> None:
    """Set each written record back to its exported fields (reply counts, decisions, edits)."""
    pipe = store.client.pipeline(transaction=False)
    for item, locator in written:
        key = store.keys.comment(locator.article_id, item["id"])
        pipe.hkeys(key)
    current = pipe.execute()
    pipe = store.client.pipeline(transaction=False)
    for (item, locator), names in zip(written, current, strict=True):
        record: dict[str, str] = item["record"]
        key = store.keys.comment(locator.article_id, item["id"])
        extra = [name for name in (n.decode() for n in names) if name not in record]
        if extra:
            pipe.hdel(key, *extra)
        pipe.hset(key, mapping=dict(record.items()))
        if item.get("revisions"):
            revisions = store.keys.revisions(locator.article_id, item["id"])
            pipe.delete(revisions)
            pipe.rpush(revisions, *(json.dumps(entry) for entry in item["revisions"]))
        if not item.get("private"):
            pipe.delete(store.keys.private(locator.article_id, item["id"]))
    pipe.execute()
