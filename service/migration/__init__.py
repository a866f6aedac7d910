"""Move comments in and out: a lossless JSON-lines format, and importers from other systems.

Every importer (wordpress, disqus, isso) streams its source as groups of `SourceComment`s, one
group an article's comments (or a thread's), and hands them to `writer.import_comments`, which
turns their HTML into the service's text (`html_text`), validates them with the service's rules,
keeps threads, dates and states, seals email and IP, and writes each comment atomically with the
submit script (flood rule off, no queue limit, no webhook events). Article ids follow one rule
(`addresses`).
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import email_validator

from service.models import Status
from service.schemas import MAX_EMAIL_LENGTH, http_website
from service.store import Store

MAX_NAME_LENGTH = 100
# What an import tells of the pending comments it brings: their wait starts with the import.
QUEUED_REMARK = "pending comment(s) joined the moderation queue (purge counts their wait from now)"
MAX_BODY_LENGTH = 5000
_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

T = TypeVar("T")


class UnreadableExport(Exception):
    """A file an import cannot read: another format, malformed, or without comments."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class ArticleTally:
    """One article's part of an import."""

    address: str = ""
    imported: int = 0
    present: int = 0
    skipped: int = 0


@dataclass
class Report:
    """What an import did: comments written, already present, skipped (each with why), and
    remarks on comments that came in changed (counted by remark)."""

    imported: int = 0
    present: int = 0
    skipped: list[str] = field(default_factory=list)
    remarks: Counter[str] = field(default_factory=Counter)
    articles: dict[str, ArticleTally] = field(default_factory=dict)

    def article(self, article_id: str, address: str = "") -> ArticleTally:
        """Give an article's tally, started on first use."""
        tally = self.articles.get(article_id)
        if tally is None:
            tally = self.articles[article_id] = ArticleTally(address)
        return tally

    def skip(self, label: str, reason: str, article_id: str | None = None) -> None:
        """Name a comment that does not come in, and why."""
        self.skipped.append(f"{label}: {reason}")
        if article_id is not None:
            self.article(article_id).skipped += 1

    def lines(self, dry_run: bool = False) -> list[str]:
        """Describe the import in a few lines for the command line."""
        verb = "Would import" if dry_run else "Imported"
        lines = [
            f"{verb} {self.imported} comment(s); {self.present} already present; "
            f"skipped {len(self.skipped)}."
        ]
        if dry_run:
            lines.append("Dry run: nothing was written. Per article (id <- source address):")
            for article_id, tally in sorted(self.articles.items()):
                source = f" <- {tally.address}" if tally.address else ""
                lines.append(
                    f"  {article_id}{source}: {tally.imported} would come in, "
                    f"{tally.present} already present, {tally.skipped} skipped"
                )
        lines += [f"  {count} {remark}" for remark, count in sorted(self.remarks.items())]
        lines += [f"  skipped {reason}" for reason in self.skipped]
        return lines


@dataclass(frozen=True)
class SourceComment:
    """A comment read from another system, before validation. `status` None means deleted;
    `body` is the source's HTML or text; `email` may be empty."""

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
    quiet = Store(store.client, store.keys, events=False, durability=store.durability)
    quiet.seal_on_write = store.seal_on_write
    return quiet


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


@functools.lru_cache(maxsize=65536)
def normalized_email(email: str) -> str | None:
    """Check and normalize an email as the reply form does; None when it is not valid
    (remembered: an export names its regular readers' emails again and again)."""
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
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text.strip()  # nothing to drop (the common case, checked fast)
    kept = (char for char in text if char in "\n\t" or unicodedata.category(char) not in _FORBIDDEN)
    return "".join(kept).strip()


def clean_website(website: str | None) -> str | None:
    """Keep a website only when it is an http(s) URL the form would take."""
    return http_website(website)
