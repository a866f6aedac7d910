"""Read comments from a WordPress export (WXR): one `<wp:comment>` per comment, under its post."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from service.migration import Report, SourceComment, article_id_from
from service.models import Status

WP = "http://wordpress.org/export/1.2/"
_STATES = {"1": Status.APPROVED, "0": Status.PENDING, "spam": Status.SPAM, "trash": None}


def read_wordpress(path: Path, report: Report) -> list[SourceComment]:
    """Read a WXR file's comments; posts without a usable id are reported and left out."""
    tree = ET.parse(path)
    namespace = _wp_namespace(tree.getroot())
    ns = {"wp": namespace}
    comments: list[SourceComment] = []
    for post in tree.getroot().iter("item"):
        slug = post.findtext("wp:post_name", "", ns).strip()
        post_id = post.findtext("wp:post_id", "", ns).strip()
        article_id = article_id_from(slug or post_id)
        entries = post.findall("wp:comment", ns)
        if not entries:
            continue
        if article_id is None:
            report.skipped.append(f"wordpress post {post_id!r}: no usable article id")
            continue
        for entry in entries:
            source_id = entry.findtext("wp:comment_id", "", ns).strip()
            if entry.findtext("wp:comment_type", "", ns).strip() in ("pingback", "trackback"):
                report.skipped.append(f"wordpress comment {source_id}: a pingback or trackback")
                continue
            approved = entry.findtext("wp:comment_approved", "", ns).strip()
            if approved not in _STATES:
                report.skipped.append(f"wordpress comment {source_id}: state {approved!r}")
                continue
            date = entry.findtext("wp:comment_date_gmt", "", ns).strip()
            try:
                created = datetime.strptime(date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            except ValueError:
                report.skipped.append(f"wordpress comment {source_id}: date {date!r}")
                continue
            parent = entry.findtext("wp:comment_parent", "", ns).strip()
            comments.append(
                SourceComment(
                    source_id=f"{post_id}:{source_id}",
                    article_id=article_id,
                    parent_source_id=f"{post_id}:{parent}" if parent not in ("", "0") else None,
                    name=entry.findtext("wp:comment_author", "", ns),
                    email=entry.findtext("wp:comment_author_email", "", ns),
                    website=entry.findtext("wp:comment_author_url", "", ns) or None,
                    body=entry.findtext("wp:comment_content", "", ns),
                    created=created,
                    status=_STATES[approved],
                    ip=entry.findtext("wp:comment_author_IP", "", ns).strip(),
                )
            )
    return comments


def _wp_namespace(root: ET.Element) -> str:
    """Find the wp namespace the file uses, whatever its version."""
    for element in root.iter():
        if element.tag.startswith("{http://wordpress.org/export/"):
            return element.tag[1:].split("}", 1)[0]
    return WP
