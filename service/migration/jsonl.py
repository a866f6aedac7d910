"""Export every comment as JSON lines, private data sealed as stored, and import it back.

One object a line: `id`, `status`, `record` (the stored fields, by their full names),
`locator` (article id, root id, root's ms, parent id, created ms, email hash, duplicate
fingerprint), `private` (the sealed token as stored, or null) and, for an edited comment,
`revisions`. The export decrypts nothing, so the file needs the same secret key to be of use,
and it shows no email. The import trusts nothing in it: every field is checked as the API checks
it, and whatever derives from other fields (the text's HTML, thread placement, dates) is rebuilt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from marshmallow import ValidationError

from service import records
from service.admission import fingerprint_of_hex
from service.comments import rfc3339
from service.keys import COMMENT_ID_LENGTH, article_bucket
from service.migration import QUEUED_REMARK, Report, import_store, parents_first
from service.models import Act, Comment, Status, anchor_for_reply
from service.privacy import Privacy, PrivateDataError, email_hash_of_hex
from service.schemas import COMMENT_ID_PATTERN, ExportedRecordSchema, RevisionSchema, http_website
from service.store import Locator, Store
from service.text import render_body

BATCH = 500
# A keyed hash in a locator: an email's (128 bits in base64; files from before kept 256 in hex),
# or a duplicate fingerprint (96 bits in base64; files from before kept 128 or 256 in hex). The
# import cuts the older forms to today's (an old fingerprint then matches no new comment's: a
# comment repeated after the import is not taken for a duplicate of one imported).
_HASH = re.compile(r"[A-Za-z0-9_-]{22}")
_OLD_HASH = re.compile(r"[0-9a-f]{64}")
_FINGERPRINT = re.compile(r"[A-Za-z0-9_-]{16}")
_OLD_FINGERPRINT = re.compile(r"[0-9a-f]{32}(?:[0-9a-f]{32})?")
_COMMENT_ID = re.compile(COMMENT_ID_PATTERN)


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
            stored = store.raw_records(
                [(locator.article_id, comment_id) for comment_id, locator in pairs]
            )
            for (comment_id, locator), raw in zip(pairs, stored, strict=True):
                if raw is None:
                    continue
                fields = records.unpack(locator.article_id, comment_id, raw)
                members = records.load(raw)
                sealed = members.get(records.SEALED)
                exported: dict[str, Any] = {
                    "id": comment_id,
                    "status": fields.get("status", str(status)),
                    "record": fields,
                    "locator": [
                        locator.article_id,
                        locator.root_id,
                        locator.root_ms,
                        locator.parent_id,
                        records.created_ms_of(comment_id),
                        members.get(records.EMAIL_HASH, ""),
                        members.get(records.FINGERPRINT, ""),
                    ],
                    "private": sealed or None,
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


def read_jsonl(lines: Iterable[str]) -> list[Any]:
    """Read export objects, skipping blank lines."""
    return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class _Checked:
    """An exported comment whose every field passed the API's rules."""

    comment_id: str
    record: dict[str, Any]
    website: str | None
    private: str | None
    email_hash: str
    fingerprint: str
    revisions: list[dict[str, str]]


@dataclass(frozen=True)
class _Placed:
    """A comment written (or found) here, that replies go under."""

    comment: Comment
    root_ms: int


class _Refused(ValueError):
    """An exported comment that does not come in, and why."""


def _messages(error: ValidationError) -> str:
    """Say in one line which fields a validation refused."""
    found: Any = error.messages
    if isinstance(found, dict):
        return "; ".join(f"{name}: {_flat(problem)}" for name, problem in sorted(found.items()))
    return _flat(found)


def _flat(problem: Any) -> str:
    if isinstance(problem, dict):
        return "; ".join(f"{key}: {_flat(value)}" for key, value in problem.items())
    if isinstance(problem, list):
        return " ".join(_flat(item) for item in problem)
    return str(problem)


def _check(item: Any, privacy: Privacy) -> _Checked:
    """Check an export object as the API checks what it takes; raise _Refused saying why."""
    if not isinstance(item, dict):
        raise _Refused("not an export object")
    try:
        record = ExportedRecordSchema().load(item.get("record") or {})
    except ValidationError as error:
        raise _Refused(f"invalid record ({_messages(error)})") from error
    comment_id = record["id"]
    if item.get("id") != comment_id:
        raise _Refused("its id and its record's id differ")
    if item.get("status", str(record["status"])) != str(record["status"]):
        raise _Refused("its state and its record's state differ")
    named = int(comment_id[12:14], 16) if len(comment_id) == COMMENT_ID_LENGTH else None
    if named is not None and named != article_bucket(record["article_id"]):
        raise _Refused("its id does not name its article's bucket")
    locator = item.get("locator")
    if not isinstance(locator, list) or len(locator) != 7:
        raise _Refused("no locator")
    email_hash, fingerprint = str(locator[5]), str(locator[6])
    if _OLD_HASH.fullmatch(email_hash):
        email_hash = email_hash_of_hex(email_hash)
    if _OLD_FINGERPRINT.fullmatch(fingerprint):
        fingerprint = fingerprint_of_hex(fingerprint)
    if not (email_hash == "" or _HASH.fullmatch(email_hash)) or not _FINGERPRINT.fullmatch(
        fingerprint
    ):
        raise _Refused("its locator holds no keyed hashes")
    private = item.get("private")
    if private is not None:
        if not isinstance(private, str):
            raise _Refused("its private data is not a sealed token")
        try:
            opened = privacy.decrypt(private.encode())
        except (PrivateDataError, ValueError, KeyError, TypeError) as error:
            raise _Refused("its private data does not open with this secret key") from error
        if opened.email:
            # Rebuilt, not believed: the email index is named by the hash of the sealed email.
            email_hash = privacy.email_hash(opened.email)
    revisions = item.get("revisions") or []
    try:
        checked_revisions = RevisionSchema(many=True).load(revisions)
    except ValidationError as error:
        raise _Refused(f"invalid revisions ({_messages(error)})") from error
    return _Checked(
        comment_id=comment_id,
        record=record,
        website=http_website(record["website"]),
        private=private,
        email_hash=email_hash,
        fingerprint=fingerprint,
        revisions=checked_revisions,
    )


def import_jsonl(store: Store, privacy: Privacy, objects: Iterable[Any]) -> Report:
    """Write exported comments back, same ids, states, threads, dates and decisions.

    Every field is checked as the API checks it, and what derives from others is rebuilt here
    (the HTML of the text, the thread placement, the creation date from its milliseconds, the
    email index from the sealed email): a file made or edited by hand cannot put markup or an
    address the reply form would refuse on the site. A comment that fails is named and skipped.

    Parents go before replies. A reply needs an approved parent when it is written, so a parent
    with replies is written approved and moved to its exported state once they are in; then
    every written record is set back as checked. Comments already there are left alone.
    """
    store = import_store(store)
    report = Report()
    checked: list[_Checked] = []
    for number, item in enumerate(objects, start=1):
        try:
            checked.append(_check(item, privacy))
        except _Refused as refusal:
            comment_id = item.get("id") if isinstance(item, dict) else None
            # The file's own text is named only when it is an id: a report shows no payload.
            shown = isinstance(comment_id, str) and _COMMENT_ID.fullmatch(comment_id)
            label = f"comment {comment_id}" if shown else "object"
            report.skipped.append(f"{label} (line {number}): {refusal}")
    with_replies = {entry.record["parent_id"] for entry in checked if entry.record["parent_id"]}
    present_ids = {entry.comment_id for entry in checked}
    placed: dict[str, _Placed] = {}
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    written: list[tuple[dict[str, str], list[dict[str, str]], Locator]] = []
    later: list[tuple[str, Locator, Status]] = []
    for entry in parents_first(
        checked, lambda entry: entry.comment_id, lambda entry: entry.record["parent_id"]
    ):
        comment_id, record = entry.comment_id, entry.record
        parent_id = record["parent_id"]
        parent = placed.get(parent_id) if parent_id else None
        if parent_id and parent is None:
            where = "was skipped" if parent_id in present_ids else "is not in the file"
            report.skipped.append(f"comment {comment_id}: its parent {parent_id} {where}")
            continue
        if parent is not None and parent.comment.article_id != record["article_id"]:
            report.skipped.append(f"comment {comment_id}: its parent is on another article")
            continue
        if record["website"] and entry.website is None:
            report.remarks["website(s) that are not http(s) addresses were left out"] += 1
        status = record["status"]
        written_status = Status.APPROVED if comment_id in with_replies else status
        # A pending comment joins the queue here now: the purge counts its wait from the import.
        queued_ms = now_ms if status is Status.PENDING else None
        comment = _rebuilt(entry, parent, written_status, queued_ms)
        locator = Locator.of(comment)
        private = entry.private
        outcome = store.add(comment, private.encode() if private else b"", locator, flood=None)
        if outcome.verdict == "exists":
            report.present += 1
            placed[comment_id] = _Placed(comment, locator.root_ms)
            continue
        if outcome.verdict != "created":
            report.skipped.append(f"comment {comment_id}: the store answered {outcome.verdict}")
            continue
        report.imported += 1
        if queued_ms is not None:
            report.remarks[QUEUED_REMARK] += 1
        placed[comment_id] = _Placed(comment, locator.root_ms)
        final = comment.to_fields() | {"status": str(status)}
        for name in ("reason_code", "edited_by", "edited_at"):
            if record[name] is not None:
                final[name] = str(record[name])
        written.append((final, entry.revisions, locator))
        if written_status is not status:
            later.append((comment_id, locator, status))
    now = rfc3339(datetime.now(UTC))
    for comment_id, locator, status in reversed(later):
        store.decide(comment_id, locator, status, Act("import", now))
    _restore_exactly(store, written, {entry.comment_id: entry.private for entry in checked})
    return report


def _rebuilt(
    entry: _Checked, parent: _Placed | None, status: Status, queued_ms: int | None
) -> Comment:
    """Build the comment to store from its checked fields; derive the rest as the API does."""
    record = entry.record
    created_ms = record["created_ms"]
    if parent is None:
        root_id, anchor_id, depth = entry.comment_id, None, 1
    else:
        above = parent.comment
        root_id, anchor_id, depth = above.root_id, anchor_for_reply(above), above.depth + 1
    return Comment(
        comment_id=entry.comment_id,
        article_id=record["article_id"],
        parent_id=record["parent_id"],
        root_id=root_id,
        anchor_id=anchor_id,
        depth=depth,
        name=record["name"],
        website=entry.website,
        body=record["body"],
        body_html=render_body(record["body"]),
        created_at=rfc3339(datetime.fromtimestamp(created_ms / 1000, UTC)),
        created_ms=created_ms,
        avatar=record["avatar"] or "",
        status=status,
        decided_by=record["decided_by"],
        decided_at=record["decided_at"],
        reason=record["reason"],
        reasons=tuple(record["reasons"]),
        staff=record["staff"] == "1",
        queued_ms=queued_ms,
        email_hash=entry.email_hash,
        fingerprint=entry.fingerprint,
    )


def _restore_exactly(
    store: Store,
    written: list[tuple[dict[str, str], list[dict[str, str]], Locator]],
    private: dict[str, str | None],
) -> None:
    """Set each written record to its checked fields (decisions, edits); the reply counts, the
    email hash and fingerprint stay as the writes made them."""
    stored = store.raw_records(
        [(locator.article_id, record["id"]) for record, _, locator in written]
    )
    pipe = store.client.pipeline(transaction=False)
    for (record, revisions, locator), raw in zip(written, stored, strict=True):
        if raw is None:
            continue
        comment_id = record["id"]
        current = records.load(raw)
        fields = {name: value for name, value in record.items() if value != ""}
        if "rp" in current:
            fields["replies"] = str(current["rp"])
        packed = records.pack(
            comment_id,
            fields,
            current.get(records.EMAIL_HASH, ""),
            current.get(records.FINGERPRINT, ""),
            current.get(records.SEALED, "") if private.get(comment_id) else "",
        )
        pipe.hset(store.keys.comments(locator.article_id), comment_id, packed)
        if revisions:
            key_of_revisions = store.keys.revisions(locator.article_id, comment_id)
            pipe.delete(key_of_revisions)
            pipe.rpush(key_of_revisions, *(json.dumps(entry) for entry in revisions))
    pipe.execute()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
