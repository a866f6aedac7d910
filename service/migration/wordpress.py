"""Read comments from a WordPress export (WXR 1.0 to 1.2, `http://` or `https://` namespace).

Each `<item>` (a post or page) gives one group: its `<wp:comment>`s. The article id comes from the
post's permalink (`<link>`), else its `?p=<post id>` address, else its slug, by the rule of
`service.migration.addresses` (or the site's map). Pingbacks and trackbacks are named and left
out; a comment in the trash, or under a post in the trash, is deleted; a comment without a state
waits for moderation; a comment without a date takes its post's (or, when the post has
none, the time of the import).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from service.migration import Report, SourceComment, UnreadableExport
from service.migration.addresses import ArticleMap
from service.migration.xml_stream import ByteSource, children, local, stream_children, text
from service.models import Status

SOURCE = "wordpress"
_STATES: dict[str, Status | None] = {
    "1": Status.APPROVED,
    "approve": Status.APPROVED,
    "0": Status.PENDING,
    "hold": Status.PENDING,
    "spam": Status.SPAM,
    "trash": None,
    "post-trashed": None,
}
_NOT_READERS = ("pingback", "trackback")
_NO_DATE = "0000-00-00 00:00:00"


def _moment(*values: str) -> datetime | None:
    """Read the first usable `YYYY-MM-DD HH:MM:SS` among values, as UTC."""
    for value in values:
        value = value.strip()
        if not value or value == _NO_DATE:
            continue
        try:
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _rss_date(value: str) -> datetime | None:
    """Read an RSS `<pubDate>` (RFC 2822), as UTC."""
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_wordpress(
    source: ByteSource, path: Path | str, report: Report, articles: ArticleMap
) -> Iterator[list[SourceComment]]:
    """Stream a WXR file's comments, one post at a time."""
    found = 0
    for element in stream_children(source, path, "rss", "a WordPress export (WXR)", depth=2):
        entries = children(element, "comment") if local(element.tag) == "item" else []
        if not entries:
            continue
        found += len(entries)
        yield list(_post_comments(element, entries, report, articles))
    if not found:
        raise UnreadableExport(path, "no comments found (no <wp:comment> in any <item>)")


def _post_comments(
    post: ET.Element, entries: list[ET.Element], report: Report, articles: ArticleMap
) -> Iterator[SourceComment]:
    post_id = text(post, "post_id").strip()
    link = text(post, "link").strip()
    addresses = (link, f"?p={post_id}" if post_id else "", text(post, "post_name").strip())
    address = next((item for item in addresses if item), "")
    article_id = articles.article_id(*addresses)
    post_key = post_id or address
    trashed = text(post, "status").strip() == "trash"
    post_date = _moment(text(post, "post_date_gmt"), text(post, "post_date")) or _rss_date(
        text(post, "pubDate")
    )
    for position, entry in enumerate(entries, start=1):
        comment_id = text(entry, "comment_id").strip() or f"#{position}"
        label = f"{SOURCE} comment {comment_id} (post {post_key or '?'})"
        if article_id is None:
            report.skip(label, "its post has no link, id or slug")
            continue
        report.article(article_id, address)
        kind = text(entry, "comment_type").strip().lower()
        if kind in _NOT_READERS:
            report.skip(label, f"a {kind}, not a reader's comment", article_id)
            continue
        if trashed:
            report.skip(label, "its post is in the trash", article_id)
            continue
        state = text(entry, "comment_approved").strip().lower()
        status = _STATES.get(state, Status.PENDING)
        if state not in _STATES:
            report.remarks[f"{SOURCE} comment(s) without a known state came in pending"] += 1
        created = _moment(text(entry, "comment_date_gmt"), text(entry, "comment_date"))
        if created is None:
            created = post_date or datetime.now(UTC)
            dated = "their post's date" if post_date else "the time of the import as date"
            report.remarks[f"{SOURCE} comment(s) without a date came in with {dated}"] += 1
        parent = text(entry, "comment_parent").strip()
        yield SourceComment(
            source_id=f"{post_key}:{comment_id}",
            article_id=article_id,
            parent_source_id=f"{post_key}:{parent}" if parent not in ("", "0") else None,
            name=text(entry, "comment_author"),
            email=text(entry, "comment_author_email"),
            website=text(entry, "comment_author_url") or None,
            body=text(entry, "comment_content"),
            created=created,
            status=status,
            ip=text(entry, "comment_author_IP").strip(),
        )
