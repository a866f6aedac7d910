"""Read comments from a Disqus export: `<thread>`s, then `<post>`s naming their thread."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

from service.migration import Report, SourceComment, article_id_from
from service.models import Status

NS = {"d": "http://disqus.com", "dsq": "http://disqus.com/disqus-internals"}
DSQ_ID = "{http://disqus.com/disqus-internals}id"
_BREAKS = {"br"}
_BLOCKS = {"p", "div", "blockquote", "li", "pre", "ul", "ol"}


class _PlainText(HTMLParser):
    """Collect an HTML message's text, keeping line and paragraph breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """Strip tags from a message, keeping its line breaks."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _flag(element: ET.Element, name: str) -> bool:
    return element.findtext(f"d:{name}", "", NS).strip().lower() == "true"


def read_disqus(path: Path, report: Report) -> list[SourceComment]:
    """Read a Disqus export's posts; posts in an unknown thread are reported and left out."""
    root = ET.parse(path).getroot()
    articles: dict[str, str] = {}
    for thread in root.findall("d:thread", NS):
        thread_id = thread.get(DSQ_ID, "")
        identifier = thread.findtext("d:id", "", NS).strip()
        link = thread.findtext("d:link", "", NS).strip()
        article_id = article_id_from(identifier) if identifier else None
        article_id = article_id or article_id_from(link)
        if article_id is None:
            report.skipped.append(f"disqus thread {thread_id}: no usable article id")
            continue
        articles[thread_id] = article_id
    comments: list[SourceComment] = []
    for post in root.findall("d:post", NS):
        source_id = post.get(DSQ_ID, "")
        in_thread = post.find("d:thread", NS)
        article_id = articles.get(in_thread.get(DSQ_ID, "") if in_thread is not None else "")
        if article_id is None:
            report.skipped.append(f"disqus post {source_id}: its thread is unknown")
            continue
        date = post.findtext("d:createdAt", "", NS).strip()
        try:
            created = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            report.skipped.append(f"disqus post {source_id}: date {date!r}")
            continue
        parent = post.find("d:parent", NS)
        author = post.find("d:author", NS)
        status: Status | None = Status.APPROVED
        if _flag(post, "isDeleted"):
            status = None
        elif _flag(post, "isSpam"):
            status = Status.SPAM
        comments.append(
            SourceComment(
                source_id=source_id,
                article_id=article_id,
                parent_source_id=parent.get(DSQ_ID) if parent is not None else None,
                name=author.findtext("d:name", "", NS) if author is not None else "",
                email=author.findtext("d:email", "", NS) if author is not None else "",
                website=None,
                body=plain_text(post.findtext("d:message", "", NS)),
                created=created,
                status=status,
                ip=post.findtext("d:ipAddress", "", NS).strip(),
            )
        )
    return comments
