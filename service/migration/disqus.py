"""Read comments from a Disqus export: `<thread>`s, then `<post>`s naming their thread.

Namespaces are read loosely (files with or without `xmlns="http://disqus.com"` both work). Each
thread gives one group. The article id comes from the thread's `<link>`, else its `<id>` (the
site's `disqus_identifier`), by the rule of `service.migration.addresses` (or the site's map).
A deleted post is deleted (kept as a rejected placeholder when it has replies); the posts of a
deleted thread, or of a thread missing from the file, are named and left out; spam stays spam.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.migration import Report, SourceComment, UnreadableExport
from service.migration.addresses import ArticleMap
from service.migration.xml_stream import ByteSource, attribute, child, local, stream_children, text
from service.models import Status

SOURCE = "disqus"


@dataclass(frozen=True)
class _Thread:
    addresses: tuple[str, str]
    deleted: bool


@dataclass(frozen=True)
class _Post:
    post_id: str
    parent_id: str | None
    name: str
    email: str
    message: str
    created: datetime | None
    status: Status | None
    ip: str


def _flag(element: ET.Element, name: str) -> bool:
    return text(element, name).strip().lower() in ("true", "1")


def _moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _post(element: ET.Element) -> _Post:
    author = child(element, "author")
    parent = child(element, "parent")
    status: Status | None = Status.APPROVED
    if _flag(element, "isDeleted"):
        status = None
    elif _flag(element, "isSpam"):
        status = Status.SPAM
    return _Post(
        post_id=attribute(element, "id") or text(element, "id").strip(),
        parent_id=(attribute(parent, "id") or None) if parent is not None else None,
        name=(text(author, "name").strip() or text(author, "username").strip()),
        email=text(author, "email"),
        message=text(element, "message"),
        created=_moment(text(element, "createdAt")),
        status=status,
        ip=text(element, "ipAddress").strip(),
    )


def read_disqus(
    source: ByteSource, path: Path | str, report: Report, articles: ArticleMap
) -> Iterator[list[SourceComment]]:
    """Read a Disqus export's posts, then give them one thread at a time."""
    threads: dict[str, _Thread] = {}
    posts: dict[str, list[_Post]] = defaultdict(list)
    for element in stream_children(source, path, "disqus", "a Disqus export", depth=1):
        name = local(element.tag)
        if name == "thread":
            threads[attribute(element, "id")] = _Thread(
                (text(element, "link").strip(), text(element, "id").strip()),
                _flag(element, "isDeleted"),
            )
        elif name == "post":
            in_thread = child(element, "thread")
            posts[attribute(in_thread, "id") if in_thread is not None else ""].append(
                _post(element)
            )
    if not posts:
        raise UnreadableExport(path, "no comments found (no <post> in the file)")
    for thread_id, thread_posts in posts.items():
        yield list(
            _thread_comments(thread_id, threads.get(thread_id), thread_posts, report, articles)
        )


def _thread_comments(
    thread_id: str,
    thread: _Thread | None,
    posts: list[_Post],
    report: Report,
    articles: ArticleMap,
) -> Iterator[SourceComment]:
    article_id = articles.article_id(*thread.addresses) if thread else None
    if article_id is not None and thread is not None:
        report.article(article_id, next(item for item in thread.addresses if item))
    for post in posts:
        label = f"{SOURCE} post {post.post_id} (thread {thread_id or '?'})"
        if thread is None:
            report.skip(label, "its thread is not in the file")
            continue
        if article_id is None:
            report.skip(label, "its thread has neither a link nor an id")
            continue
        if thread.deleted:
            report.skip(label, "its thread is deleted", article_id)
            continue
        if post.created is None:
            report.skip(label, "no valid date", article_id)
            continue
        yield SourceComment(
            source_id=post.post_id,
            article_id=article_id,
            parent_source_id=post.parent_id,
            name=post.name,
            email=post.email,
            website=None,
            body=post.message,
            created=post.created,
            status=post.status,
            ip=post.ip,
        )
