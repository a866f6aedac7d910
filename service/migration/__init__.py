"""Move comments in and out: a lossless JSON-lines format, and importers from other systems.

Every importer maps its source to `SourceComment`s and hands them to `import_comments`, which
validates them with the service's rules, keeps threads, dates and states, seals email and IP, and
writes each through `Store.add` (flood rule off, no queue limit, no webhook events).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

import email_validator

from service.admission import duplicate_fingerprint
from service.comments import new_comment_id, rfc3339
from service.models import Act, Comment, PrivateData, Status, anchor_for_reply
from service.privacy import Privacy
from service.schemas import ARTICLE_ID_PATTERN, MAX_EMAIL_LENGTH, MAX_WEBSITE_LENGTH
from service.store import Locator, Store
from service.text import render_body

MAX_NAME_LENGTH = 100
MAX_BODY_LENGTH = 5000
_ARTICLE_ID = re.compile(ARTICLE_ID_PATTERN)
_NOT_IN_ARTICLE_ID = re.compile(r"[^A-Za-z0-9\-_.~:]+")
_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

T = TypeVar("T")


@dataclass
class Report:
    """What an import did: comments written, skipped (with why), already present."""

    imported: int = 0
    present: int = 0
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Describe the import in a few lines for the command line."""
        return [
            f"Imported {self.imported} comment(s); {self.present} already present; "
            f"skipped {len(self.skipped)}.",
            *(f"  skipped {reason}" for reason in self.skipped),
        ]


@dataclass(frozen=True)
class SourceComment:
    """A comment read from another system, before validation. `status` None means deleted."""

    source_id: str
    article_id: str
    parent_source_id: str | None
    name: str
    email: str
    website: str | None
    body: str
    created: datetime
    status: Status | None
    ip: str = ""


def import_store(store: Store) -> Store:
    """Give a store on the same Redis and keys that writes no webhook events."""
    return Store(store.client, store.keys, events=False, durability=store.durability)


def article_id_from(text: str) -> str | None:
    """Turn a slug, identifier, URL or path into a valid article id (None when nothing is left)."""
    text = text.strip()
    if _ARTICLE_ID.fullmatch(text):
        return text
    if "://" in text:
        text = urlsplit(text).path
    text = text.split("?", 1)[0].split("#", 1)[0].strip("/")
    candidate = _NOT_IN_ARTICLE_ID.sub("-", text.replace("/", "-")).strip("-")[:200]
    return candidate or None


def parents_first(
    items: Sequence[T], key: Callable[[T], str], parent: Callable[[T], str | None]
) -> list[T]:
    """Order items by key, each after its parent (when the parent is among them)."""
    by_key = {key(item): item for item in items}
    ordered: list[T] = []
    placed: set[str] = set()
    for item in sorted(items, key=key):
        chain: list[T] = []
        current: T | None = item
        while current is not None and key(current) not in placed:
            chain.append(current)
            placed.add(key(current))
            parent_key = parent(current)
            current = by_key.get(parent_key) if parent_key else None
        ordered.extend(reversed(chain))
    return ordered


def normalized_email(email: str) -> str | None:
    """Check and normalize an email as the reply form does; None when it is not valid."""
    text = email.strip()
    if not text or len(text) > MAX_EMAIL_LENGTH or "\n" in text or "\r" in text:
        return None
    try:
        return str(email_validator.validate_email(text, check_deliverability=False).normalized)
    except email_validator.EmailNotValidError:
        return None


def clean_text(text: str) -> str:
    """Normalize text as the reply form does, dropping characters it would refuse."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = (char for char in text if char in "\n\t" or unicodedata.category(char) not in _FORBIDDEN)
    return "".join(kept).strip()


def clean_website(website: str | None) -> str | None:
    """Keep a website only when it is an http(s) URL the form would take."""
    text = (website or "").strip()
    if not re.match(r"https?://[^\s]+$", text, re.IGNORECASE) or len(text) > MAX_WEBSITE_LENGTH:
        return None
    return text


def import_comments(
    store: Store, privacy: Privacy, source: str, comments: Iterable[SourceComment]
) -> Report:
    """Validate and store comments from another system, threads, dates and states kept.

    A deleted comment is skipped unless it has replies; then it stands as rejected. A comment
    with replies is written approved (a reply needs a published parent) and moved to its real
    state once its replies are in. A re-run finds each comment as a duplicate and adds nothing.
    """
    store = import_store(store)
    report = Report()
    items = list(comments)
    with_replies = {item.parent_source_id for item in items if item.parent_source_id}
    now = rfc3339(datetime.now(UTC))
    new_ids: dict[str, str] = {}
    written: dict[str, Comment] = {}
    later: list[tuple[str, Locator, Status]] = []
    for item in _creation_order(items):
        label = f"{source} comment {item.source_id}"
        status = item.status
        if status is None:
            if item.source_id not in with_replies:
                report.skipped.append(f"{label}: deleted")
                continue
            status = Status.REJECTED
        email = normalized_email(item.email)
        body = clean_text(item.body)
        if item.status is None:
            # A deleted comment kept for its replies: rejected, never shown, maybe emptied.
            email = email or f"deleted+{_digest(source, item.source_id)}@invalid.example"
            body = body or "[deleted]"
        if email is None:
            reason = "invalid email" if item.email.strip() else "no email"
            report.skipped.append(f"{label}: {reason}")
            continue
        if not body or len(body) > MAX_BODY_LENGTH:
            report.skipped.append(f"{label}: text empty or over {MAX_BODY_LENGTH} characters")
            continue
        parent: Comment | None = None
        if item.parent_source_id:
            parent = written.get(new_ids.get(item.parent_source_id, ""))
            if parent is None:
                report.skipped.append(f"{label}: its parent was not imported")
                continue
        created_ms = _ms(item.created)
        comment_id = new_comment_id(created_ms, item.article_id)
        if parent is None:
            root_id, root_ms, anchor_id, depth = comment_id, created_ms, None, 1
        else:
            root = written[parent.root_id]
            root_id, root_ms = root.comment_id, root.created_ms
            anchor_id, depth = anchor_for_reply(parent), parent.depth + 1
        name = clean_text(item.name).replace("\n", " ")[:MAX_NAME_LENGTH].strip() or "Anonymous"
        decided = status is not Status.PENDING
        parent_id = parent.comment_id if parent else None
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
            created_at=rfc3339(item.created),
            created_ms=created_ms,
            avatar=privacy.avatar_seed(email),
            status=Status.APPROVED if item.source_id in with_replies else status,
            decided_by=f"import:{source}" if decided else None,
            decided_at=now if decided else None,
            reasons=(f"imported from {source}",),
        )
        email_hash = privacy.email_hash(email)
        fingerprint = duplicate_fingerprint(item.article_id, parent_id, email_hash, body)
        locator = Locator(
            item.article_id, root_id, root_ms, parent_id, created_ms, email_hash, fingerprint
        )
        outcome = store.add(
            comment, privacy.encrypt(PrivateData(email, item.ip, "")), locator, flood=None
        )
        if outcome.verdict == "duplicate" and outcome.detail:
            # Imported before (or a repeat in the source): replies go under the first one.
            report.present += 1
            fields = store.comment_fields(item.article_id, outcome.detail)
            if fields:
                new_ids[item.source_id] = outcome.detail
                written[outcome.detail] = Comment.from_fields(fields)
            continue
        if outcome.verdict != "created":
            report.skipped.append(f"{label}: the store answered {outcome.verdict}")
            continue
        report.imported += 1
        new_ids[item.source_id] = comment_id
        written[comment_id] = comment
        if comment.status is not status:
            later.append((comment_id, locator, status))
    # Replies are in: move their parents to their real state, deepest first.
    for comment_id, locator, status in reversed(later):
        store.decide(comment_id, locator, status, Act(f"import:{source}", now))
    return report


def _creation_order(items: Sequence[SourceComment]) -> list[SourceComment]:
    """Order comments by creation, each after its parent whatever the source's dates say."""
    rank = {
        item.source_id: f"{_ms(item.created):015d}|{index:09d}"
        for index, item in enumerate(sorted(items, key=lambda item: (item.created, item.source_id)))
    }
    by_rank = sorted(items, key=lambda item: rank[item.source_id])
    return parents_first(
        by_rank, lambda item: rank[item.source_id], lambda item: _parent_rank(item, rank)
    )


def _parent_rank(item: SourceComment, rank: dict[str, str]) -> str | None:
    return rank.get(item.parent_source_id) if item.parent_source_id else None


def _digest(*parts: str) -> str:
    """A short stable hash standing in for a missing value."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch of a moment (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
